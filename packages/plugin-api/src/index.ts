export * from './plugin/index.js';
export * from './errors/index.js';
export * from './logging/logger.js';
export * from './health/provider-health.js';
export * from './models/model-resolver.js';
export * from './audio/pcm.js';
export * from './audio/wav.js';
export * from './audio/stream-resampler.js';
