export * from './speech.js';
export * from './plugin-package.js';
