export * from './speech.js';
export * from './random.js';
export * from './recording-logger.js';
export * from './transcript-pool.js';
export * from './plugin-package.js';
export * from './wer.js';
export * from './audio-formats.js';
