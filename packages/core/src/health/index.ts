export * from './provider-health.js';
export * from './idle-health.js';
