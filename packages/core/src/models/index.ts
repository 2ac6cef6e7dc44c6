export * from './model-resolver.js';
