export * from './pcm-recording.js';
export * from './audio-decoder.js';
export * from './g711.js';
