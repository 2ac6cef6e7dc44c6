export * from './idle-health.js';
