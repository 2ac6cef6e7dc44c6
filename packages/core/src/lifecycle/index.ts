export * from './model-state-machine.js';
export * from './model-manager.js';
export * from './warmup.js';
export * from './warmup-audio.js';
export * from './error-history.js';
export * from './listeners.js';
export * from './recovery-backoff.js';
