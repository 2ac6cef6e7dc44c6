import plugin from './index.js';
import { recordingLogger, testContext, TEST_PYTHON } from './__fixtures__/test-context.js';

describe('faster-whisper plugin', () => {
  it('defaults the config slice and rejects what it does not know', () => {
    expect(plugin.configSchema.parse({})).toEqual({
      model: 'tiny.en',
      device: 'auto',
      computeType: 'int8',
      cpuThreads: 0,
      beamSize: 5,
      vadFilter: false,
      maxBatchSize: 8,
      chunkSeconds: 4,
      inferenceTimeoutMs: 30000,
      startTimeoutMs: 120000,
      shutdownGraceMs: 5000,
      maxRestarts: 3,
    });
    expect(plugin.configSchema.parse({ device: 'metal' }).device).toBe('metal');
    expect(() => plugin.configSchema.parse({ device: 'tpu' })).toThrow();
    expect(() => plugin.configSchema.parse({ computeType: 'int4' })).toThrow();
    expect(() => plugin.configSchema.parse({ beamSize: 0 })).toThrow();
    expect(() => plugin.configSchema.parse({ modle: 'tiny.en' })).toThrow();
  });

  it('takes the host python unless the slice names one (relative to the config dir)', async () => {
    const ctx = testContext({ configDir: '/srv/app' });
    expect(await plugin.create(plugin.configSchema.parse({}), ctx)).toHaveProperty('pythonPath', TEST_PYTHON);
    const rel = await plugin.create(plugin.configSchema.parse({ pythonPath: '.venv/bin/python' }), ctx);
    expect(rel.pythonPath).toBe('/srv/app/.venv/bin/python');
    const bare = await plugin.create(plugin.configSchema.parse({ pythonPath: 'python3' }), ctx);
    expect(bare.pythonPath).toBe('python3');
  });

  it('runs mps/metal on cpu and float16 on cpu as int8, with logged notices', async () => {
    const logger = recordingLogger();
    const provider = await plugin.create(plugin.configSchema.parse({ device: 'mps', computeType: 'int8_float16' }), testContext({ logger }));
    try {
      await provider.load();
      expect(provider.health().extra).toMatchObject({ device: 'cpu', computeType: 'int8' });
      const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg);
      expect(warnings).toEqual(
        expect.arrayContaining([
          "device 'mps' is not supported by CTranslate2; using cpu",
          "compute type 'int8_float16' is not supported on cpu; using int8",
        ]),
      );
    } finally {
      await provider.unload();
    }
  });
});
