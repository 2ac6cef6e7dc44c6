import 'reflect-metadata';

export * from './errors/index.js';
export * from './plugin/index.js';
export * from './logging/index.js';
export * from './audio/index.js';
export * from './text/index.js';
export * from './health/index.js';
export * from './streaming/index.js';
export * from './models/index.js';
export * from './config/index.js';
export * from './registry/index.js';
export * from './di/index.js';
export * from './lifecycle/index.js';
export * from './capabilities/index.js';
export * from './degrade/index.js';
export * from './pipeline/index.js';
export * from './runtime/index.js';
