export * from './wav.js';
export * from './pcm.js';
export * from './pcm-recording.js';
export * from './stream-resampler.js';
export * from './audio-decoder.js';
export * from './g711.js';
