import 'reflect-metadata';

// The host's API includes the plugin contract it runs.
export * from '@echopanel/plugin-api';
export * from './logging/index.js';
export * from './audio/index.js';
export * from './text/index.js';
export * from './health/index.js';
export * from './models/index.js';
export * from './config/index.js';
export * from './registry/index.js';
export * from './di/index.js';
export * from './lifecycle/index.js';
export * from './capabilities/index.js';
export * from './degrade/index.js';
export * from './pipeline/index.js';
export * from './scheduling/index.js';
export * from './runtime/index.js';
