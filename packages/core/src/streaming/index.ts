export * from './sliding-window.js';
export * from './inference-metrics.js';
export * from './inference-queue.js';
export * from './engine-runner.js';
export * from './hallucination-guard.js';
export * from './chunked-transcriber.js';
export * from './session-stats.js';
