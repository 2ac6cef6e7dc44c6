import { readFileSync } from 'node:fs';
import { defineProvider, PLUGIN_API_VERSION } from '@echopanel/plugin-api';
import { fasterWhisperConfigSchema } from './config.js';
import { FasterWhisperProvider } from './faster-whisper-provider.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** The `faster-whisper` provider plugin (the package's default export). */
export const fasterWhisperPlugin = defineProvider({
  name: 'faster-whisper',
  apiVersion: PLUGIN_API_VERSION,
  configSchema: fasterWhisperConfigSchema,
  create: (config, ctx) => new FasterWhisperProvider(config, ctx),
  version: pkg.version,
  description: 'faster-whisper (CTranslate2) in a supervised Python worker; the embedded default engine (tiny.en)',
});
