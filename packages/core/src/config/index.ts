export * from './schema.js';
export * from './define-config.js';
export * from './load-config.js';
export * from './env-overrides.js';
export * from './format-zod-issues.js';
export * from './config-watcher.js';
