export * from './stream-events.js';
export * from './stream-session.js';
export * from './vad-segmenter.js';
export * from './local-agreement.js';
export * from './frame-queue.js';
export * from './recording-plan.js';
export * from './recording-transcriber.js';
