import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelResolver, silentLogger, systemClock, type ASRProvider, type PluginContext } from '@echopanel/core';
import fasterWhisper from '@echopanel/provider-faster-whisper';
import { SileroVadEngine } from '@echopanel/vad-silero';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');

/** The Python the engine runs on: ECHOPANEL_PYTHON, else the project venv, else the machine's test venv. */
export const TEST_PYTHON =
  process.env.ECHOPANEL_PYTHON ??
  (existsSync(path.join(REPO_ROOT, '.venv/bin/python')) ? path.join(REPO_ROOT, '.venv/bin/python') : '/tmp/venvtest/bin/python');

/** The context the runtime gives plugins, with the real model resolver (finds the bundled tiny.en). */
export function pluginContext(): PluginContext {
  return {
    logger: silentLogger,
    configDir: REPO_ROOT,
    pythonPath: TEST_PYTHON,
    models: createModelResolver({ pythonPath: TEST_PYTHON, allowDownload: false }),
    clock: systemClock,
    env: process.env,
  };
}

/** The real faster-whisper provider on the bundled tiny.en, made the way the registry makes it. */
export async function realFasterWhisper(config: Record<string, unknown> = {}): Promise<ASRProvider> {
  const parsed = fasterWhisper.configSchema.parse({ model: 'tiny.en', beamSize: 1, ...config });
  return fasterWhisper.create(parsed, pluginContext());
}

export async function realSilero(): Promise<SileroVadEngine> {
  const engine = new SileroVadEngine();
  await engine.load();
  return engine;
}
