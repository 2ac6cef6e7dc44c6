export * from './subtitles.js';
export * from './languages.js';
