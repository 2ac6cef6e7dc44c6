export * from './wer.js';
export * from './subtitles.js';
export * from './languages.js';
