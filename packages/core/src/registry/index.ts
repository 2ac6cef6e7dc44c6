export * from './canonical-key.js';
export * from './registry-events.js';
export * from './plugin-registry.js';
export * from './provider-registry.js';
export * from './vad-registry.js';
export * from './import-map.js';
export * from './plugin-loader.js';
