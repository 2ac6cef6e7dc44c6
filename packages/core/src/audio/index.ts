export * from './wav.js';
export * from './pcm.js';
export * from './pcm-recording.js';
