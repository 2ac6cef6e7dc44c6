export { voxtralPlugin as default, voxtralPlugin } from './plugin.js';
export { VoxtralProvider, VOXTRAL_LANGUAGES } from './voxtral-provider.js';
export { voxtralConfigSchema, type VoxtralConfig, type VoxtralConfigInput } from './config.js';
export { checkAvailability, resolveBinary, missingModelFiles, MODEL_FILES } from './availability.js';
export { VoxtralProcess, describeExit, type VoxtralExit, type VoxtralProcessOptions, type VoxtralTimings } from './voxtral-process.js';
export { TranscriptSegmenter, type TextSegment, type SegmenterOptions } from './segmenter.js';
export { resolveOverlap, normalizeWord } from './overlap.js';
