export * from './decode-scheduler.js';
export * from './engine-load.js';
