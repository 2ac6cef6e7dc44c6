export * from './provider-health.js';
export * from './health-report.js';
export * from './session-counter.js';
