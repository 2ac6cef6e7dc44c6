export * from './wer.js';
export * from './subtitles.js';
