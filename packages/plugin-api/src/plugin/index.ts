export * from './provider.js';
export * from './vad.js';
export * from './define-provider.js';
export * from './define-vad.js';
export * from './plugin-context.js';
export * from './clock.js';
