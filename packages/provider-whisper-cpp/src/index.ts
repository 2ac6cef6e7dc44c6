export { whisperCppPlugin, whisperCppPlugin as default } from './plugin.js';
export { WhisperCppProvider } from './whisper-cpp-provider.js';
export {
  whisperCppConfigSchema,
  resolveDevice,
  defaultThreads,
  type WhisperCppConfig,
  type WhisperCppConfigInput,
} from './config.js';
export { inspectGgmlFile, type GgmlModelInfo } from './ggml-file.js';
export { findGgmlModel, locateGgmlModel, ggmlFileName, isPathRef, commonModelDirs, type ModelLocatorContext } from './model-locator.js';
export { nativeBuildInfo, type NativeBuildInfo } from './native-engine.js';
