import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  hasErrorCode,
  PLUGIN_API_VERSION,
  PLUGIN_BRAND,
  silentLogger,
  systemClock,
  type PluginContext,
} from '@echopanel/plugin-api';
import plugin from './index.js';
import { bundledModelPath } from './model-path.js';
import { SileroVadEngine } from './silero-engine.js';

function ctx(configDir: string): PluginContext {
  return {
    logger: silentLogger,
    configDir,
    pythonPath: 'python3',
    models: { find: async () => undefined, resolve: async () => Promise.reject(new Error('unused')) },
    clock: systemClock,
    env: {},
  };
}

describe('silero plugin and engine', () => {
  test('the default export is a vad plugin with Silero defaults', async () => {
    expect(plugin.kind).toBe('vad');
    expect(plugin[PLUGIN_BRAND]).toBe('vad');
    expect(plugin.name).toBe('silero');
    expect(plugin.apiVersion).toBe(PLUGIN_API_VERSION);
    expect(plugin.configSchema.parse({})).toEqual({
      threshold: 0.5,
      minSpeechMs: 250,
      minSilenceMs: 100,
      speechPadMs: 30,
      maxSpeechSeconds: 30,
      refineBoundaries: true,
      sampleRate: 16000,
    });
    expect(plugin.configSchema.safeParse({ threshold: 0.4, negThreshold: 0.45 }).success).toBe(false);
    expect(plugin.configSchema.safeParse({ sampleRate: 44100 }).success).toBe(false);
    expect(plugin.configSchema.safeParse({ tresh: 0.4 }).success).toBe(false);
    const engine = await plugin.create(plugin.configSchema.parse({ threshold: 0.6 }), ctx(process.cwd()));
    expect(engine).toBeInstanceOf(SileroVadEngine);
    expect(engine.modelPath).toBe(bundledModelPath());
  });

  test('loads the bundled weights (no download) and reports their identity', async () => {
    const engine = new SileroVadEngine();
    expect(engine.modelInfo()).toBeUndefined();
    await Promise.all([engine.load(), engine.load()]);
    expect(engine.modelInfo()).toMatchObject({ path: bundledModelPath(), sizeBytes: 2327524, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(await engine.availability()).toEqual({ available: true });
    await engine.unload();
    expect(engine.modelInfo()).toBeUndefined();
  });

  test('a detector outlives an unload: its next push reloads the model', async () => {
    const engine = new SileroVadEngine();
    const detector = engine.createDetector();
    const tone = Int16Array.from({ length: 4096 }, (_, i) => Math.round(8000 * Math.sin(i / 7)));
    const first = await detector.push(tone);
    await engine.unload();
    detector.reset();
    const again = await detector.push(tone);
    expect(again.windows.map((w) => w.probability)).toEqual(first.windows.map((w) => w.probability));
    expect(engine.modelInfo()).toBeDefined();
    await engine.unload();
  });

  test('a missing model: MODEL_NOT_FOUND on load, availability says why', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vad-'));
    const engine = await plugin.create(plugin.configSchema.parse({ modelPath: 'models/nope.onnx' }), ctx(dir));
    const expected = path.join(dir, 'models/nope.onnx');
    expect(await engine.availability()).toEqual({ available: false, reason: expect.stringContaining(expected) });
    await expect(engine.load()).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    // A detector made anyway fails its first push with the same error rather than hanging.
    const detector = engine.createDetector();
    const err = await detector.push(new Int16Array(1024)).catch((e: unknown) => e);
    expect(hasErrorCode(err, 'MODEL_NOT_FOUND')).toBe(true);
  });

  test('a file that is not a Silero model: MODEL_CORRUPT', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vad-'));
    const file = path.join(dir, 'garbage.onnx');
    writeFileSync(file, Buffer.from('definitely not protobuf'));
    const engine = new SileroVadEngine({ modelPath: file });
    await expect(engine.load()).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
    expect(await engine.availability()).toEqual({ available: false, reason: expect.stringContaining('not a loadable ONNX model') });
  });
});
