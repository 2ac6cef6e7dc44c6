import { defaultThreads, resolveDevice, whisperCppConfigSchema } from './config.js';
import { ggmlFileName, isPathRef } from './model-locator.js';

describe('whisper-cpp config', () => {
  it('defaults a config slice', () => {
    expect(whisperCppConfigSchema.parse({})).toEqual({
      model: 'tiny.en',
      device: 'auto',
      beamSize: 5,
      offloadSeconds: 0,
      chunkSeconds: 4,
      inferenceTimeoutMs: 30_000,
      maxParallel: 1,
    });
  });

  it('rejects values the engine cannot use', () => {
    expect(whisperCppConfigSchema.safeParse({ device: 'mps' }).success).toBe(false);
    expect(whisperCppConfigSchema.safeParse({ threads: 0 }).success).toBe(false);
    expect(whisperCppConfigSchema.safeParse({ beamSize: 0 }).success).toBe(false);
    expect(whisperCppConfigSchema.safeParse({ chunkSeconds: 0.1 }).success).toBe(false);
    // A misspelt key is refused, not silently dropped.
    expect(whisperCppConfigSchema.safeParse({ chunkSecond: 2 }).success).toBe(false);
  });

  it('picks Metal only on Apple Silicon for auto', () => {
    expect(resolveDevice('auto', 'darwin', 'arm64')).toBe('metal');
    expect(resolveDevice('auto', 'darwin', 'x64')).toBe('cpu');
    expect(resolveDevice('auto', 'linux', 'x64')).toBe('cpu');
    expect(resolveDevice('cuda', 'linux', 'x64')).toBe('cuda');
  });

  it('uses min(8, cores) threads on CPU and min(4, cores) with a GPU', () => {
    expect(defaultThreads('cpu', 2)).toBe(2);
    expect(defaultThreads('cpu', 16)).toBe(8);
    expect(defaultThreads('metal', 16)).toBe(4);
    expect(defaultThreads('cuda', 2)).toBe(2);
  });

  it('tells catalog names from paths and names ggml files like whisper.cpp', () => {
    expect(isPathRef('tiny.en')).toBe(false);
    expect(isPathRef('./models/x.bin')).toBe(true);
    expect(isPathRef('ggml-base.bin')).toBe(true);
    expect(isPathRef('~/m/tiny')).toBe(true);
    expect(ggmlFileName('tiny.en')).toBe('ggml-tiny.en.bin');
    expect(ggmlFileName('ggml-base.bin')).toBe('ggml-base.bin');
  });
});
