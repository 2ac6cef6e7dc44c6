import { defineProvider, PLUGIN_API_VERSION } from '@echopanel/plugin-api';
import { configSchema, PROVIDER_NAME } from './config.js';
import { DtmfProvider } from './provider.js';

export { configSchema, PROVIDER_NAME, type ProviderConfig } from './config.js';
export { DtmfProvider } from './provider.js';
export { dialTones, dtmfCorpus, keyWords } from './dtmf.js';

/** The plugin: EchoPanel loads this default export by the package name in its config's `plugins`. */
export default defineProvider({
  name: PROVIDER_NAME,
  apiVersion: PLUGIN_API_VERSION,
  version: '0.1.0',
  description: 'DTMF keypad tones to words: the example engine of echopanel plugin new',
  configSchema,
  create: (config, ctx) => new DtmfProvider(config, ctx),
});
