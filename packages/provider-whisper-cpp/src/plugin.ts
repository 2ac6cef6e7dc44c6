import { PLUGIN_API_VERSION, defineProvider } from '@echopanel/plugin-api';
import { whisperCppConfigSchema } from './config.js';
import { WhisperCppProvider } from './whisper-cpp-provider.js';

/** The whisper-cpp provider plugin (the package's default export). */
export const whisperCppPlugin = defineProvider({
  name: 'whisper-cpp',
  apiVersion: PLUGIN_API_VERSION,
  configSchema: whisperCppConfigSchema,
  create: (config, ctx) => new WhisperCppProvider(config, ctx),
  version: '0.1.0',
  description: 'whisper.cpp in-process through smart-whisper (ggml models, CPU SIMD / Metal)',
});
