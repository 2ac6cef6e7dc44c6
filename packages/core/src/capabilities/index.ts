export * from './command-runner.js';
export * from './machine-profile.js';
export * from './model-catalog.js';
export * from './recommend.js';
export * from './models-from-resolver.js';
export * from './runtime-candidates.js';
