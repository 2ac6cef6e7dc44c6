import { PLUGIN_API_VERSION, defineProvider } from '@echopanel/plugin-api';
import { voxtralConfigSchema } from './config.js';
import { VoxtralProvider } from './voxtral-provider.js';

/** The `voxtral` provider plugin (the package's default export). */
export const voxtralPlugin = defineProvider({
  name: 'voxtral',
  apiVersion: PLUGIN_API_VERSION,
  version: '0.1.0',
  description: "antirez's voxtral.c (Voxtral Mini 4B Realtime) as a supervised streaming subprocess",
  configSchema: voxtralConfigSchema,
  create: (config, ctx) => new VoxtralProvider(config, ctx),
});
