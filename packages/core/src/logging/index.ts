export * from './logger.js';
export * from './create-logger.js';
