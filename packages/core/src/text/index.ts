export * from './wer.js';
