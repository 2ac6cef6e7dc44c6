export * from './speech.js';
