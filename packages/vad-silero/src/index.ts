export { sileroVadPlugin as default, sileroVadPlugin } from './plugin.js';
export * from './config.js';
export * from './model-path.js';
export * from './speech-segmenter.js';
export * from './silero-model.js';
export * from './silero-detector.js';
export * from './silero-engine.js';
