export * from './wav.js';
export * from './pcm.js';
