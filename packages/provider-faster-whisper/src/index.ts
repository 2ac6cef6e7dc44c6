export { fasterWhisperPlugin as default, fasterWhisperPlugin } from './plugin.js';
export { FasterWhisperProvider } from './faster-whisper-provider.js';
export { fasterWhisperConfigSchema, type FasterWhisperConfig, type FasterWhisperConfigInput } from './config.js';
export { WORKER_SCRIPT_PATH } from './worker-script.js';
export { probePython, type PythonProbe, type ProbeOutcome } from './probe.js';
