export * from './provider-health.js';
