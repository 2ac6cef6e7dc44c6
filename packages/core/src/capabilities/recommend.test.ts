import { type Device, hasErrorCode } from '@echopanel/plugin-api';
import type { MachineProfile } from './machine-profile.js';
import { WHISPER_MODEL_CHAIN } from './model-catalog.js';
import { recommend, RAM_CLASSES, type ModelAvailability, type ProviderCandidate } from './recommend.js';

type Acc = 'cpu' | 'metal' | 'cuda';

function profile(gib: number, acc: Acc, cores = 8): MachineProfile {
  return {
    platform: acc === 'metal' ? 'darwin' : 'linux',
    arch: acc === 'metal' ? 'arm64' : 'x64',
    totalMemoryBytes: gib * 1024 ** 3,
    freeMemoryBytes: (gib / 2) * 1024 ** 3,
    memorySource: 'os',
    cpuCores: cores,
    appleSilicon: acc === 'metal',
    metal: acc === 'metal',
    cuda: acc === 'cuda' ? { available: true, devices: [{ index: 0, name: 'NVIDIA L4' }], detail: '1 device(s)' } : { available: false, devices: [], detail: 'none' },
    notes: [],
    detectedAt: '2026-01-01T00:00:00.000Z',
  };
}

const models = (names: readonly string[]): ModelAvailability[] =>
  WHISPER_MODEL_CHAIN.map((name) => ({ name, available: names.includes(name), ...(names.includes(name) ? {} : { reason: 'weights not present' }) }));

function provider(name: string, available: boolean, have?: readonly string[], extra: Partial<ProviderCandidate> = {}): ProviderCandidate {
  return {
    name,
    availability: () => (available ? { available: true } : { available: false, reason: `${name} is not installed`, hint: `install ${name}` }),
    ...(have ? { models: () => models(have) } : {}),
    ...extra,
  };
}

const ALL = [...WHISPER_MODEL_CHAIN];
const GIB_BY_CLASS = { ultra_low: 3, low: 6, medium: 12, high: 24, ultra: 64 } as const;

describe('recommend', () => {
  it('24 GiB without GPU on 2 cores: faster-whisper base.en int8 on CPU, whisper.cpp as fallback', async () => {
    const r = await recommend(profile(24, 'cpu', 2), [provider('faster-whisper', true, ALL), provider('whisper-cpp', true, ALL)]);
    expect(r).toMatchObject({ tier: 'high-cpu', provider: 'faster-whisper', model: 'base.en', computeType: 'int8', device: 'cpu', chunkSeconds: 2, vad: true });
    expect(r.fallback).toMatchObject({ provider: 'whisper-cpp', model: 'base.en', device: 'cpu' });
    expect(r.reasons[0]).toBe('tier high-cpu: 24.0 GiB RAM, 2 core(s), no GPU');
    expect(r.reasons).toContain('CPU decoding capped at base.en by 2 core(s) (RAM would allow medium.en)');
  });

  it('uses the largest model present: only tiny.en here → tiny.en, and says why', async () => {
    const r = await recommend(profile(24, 'cpu', 2), [provider('faster-whisper', true, ['tiny.en']), provider('whisper-cpp', false)]);
    expect(r).toMatchObject({ provider: 'faster-whisper', model: 'tiny.en' });
    expect(r.fallback).toBeUndefined();
    expect(r.reasons.join('\n')).toContain('base.en not present here');
    expect(r.reasons.at(-1)).toBe('no fallback: no second usable provider (whisper-cpp: unavailable: whisper-cpp is not installed (install whisper-cpp))');
  });

  it('a very small machine gets tiny.en, 4 s chunks and no VAD', async () => {
    const r = await recommend(profile(3, 'cpu', 4), [provider('faster-whisper', true, ALL)]);
    expect(r).toMatchObject({ tier: 'ultra_low-cpu', model: 'tiny.en', chunkSeconds: 4, vad: false, computeType: 'int8' });
  });

  it('takes a bigger model than ideal when it is the only one present and fits in half the RAM; never one that does not fit', async () => {
    const r = await recommend(profile(3, 'cpu', 4), [provider('faster-whisper', true, ['small.en', 'large-v3'])]);
    expect(r.model).toBe('small.en');
    expect(r.reasons.join('\n')).toContain('only small.en is present; it is bigger than the tiny.en this machine runs best');
    await expect(recommend(profile(3, 'cpu', 4), [provider('faster-whisper', true, ['large-v3'])])).rejects.toThrow(/PROVIDER_UNAVAILABLE|no ASR provider/);
  });

  it('Apple Silicon: whisper.cpp on Metal first, faster-whisper on CPU as fallback; Voxtral on a big Mac when present', async () => {
    const mid = await recommend(profile(16, 'metal', 10), [provider('faster-whisper', true, ALL), provider('whisper-cpp', true, ALL)]);
    expect(mid).toMatchObject({ tier: 'high-metal', provider: 'whisper-cpp', device: 'metal', model: 'medium.en', computeType: 'fp16' });
    expect(mid.fallback).toMatchObject({ provider: 'faster-whisper', device: 'cpu', computeType: 'int8', model: 'base.en' });
    const big = await recommend(profile(64, 'metal', 12), [
      provider('faster-whisper', true, ALL),
      provider('whisper-cpp', true, ALL),
      provider('voxtral', true, undefined, { configuredModel: 'voxtral-mini-4b-realtime' }),
    ]);
    expect(big).toMatchObject({ tier: 'ultra-metal', provider: 'voxtral', model: 'voxtral-mini-4b-realtime', device: 'metal' });
    expect(big.fallback).toMatchObject({ provider: 'whisper-cpp', device: 'metal', model: 'base.en' });
    const noVox = await recommend(profile(64, 'metal', 12), [provider('whisper-cpp', true, ALL), provider('voxtral', false)]);
    expect(noVox).toMatchObject({ provider: 'whisper-cpp', model: 'large-v3-turbo' });
  });

  it('CUDA: faster-whisper float16 on the GPU', async () => {
    const r = await recommend(profile(32, 'cuda', 16), [provider('faster-whisper', true, ALL), provider('whisper-cpp', true, ALL)]);
    expect(r).toMatchObject({ tier: 'ultra-cuda', provider: 'faster-whisper', device: 'cuda', computeType: 'float16', model: 'large-v3' });
    expect(r.fallback).toMatchObject({ provider: 'whisper-cpp', device: 'cpu' });
  });

  it('a provider without a model list is recommended with its configured model, unless that is too big here', async () => {
    const ok = await recommend(profile(8, 'cpu', 4), [provider('faster-whisper', true, undefined, { configuredModel: 'base.en' })]);
    expect(ok).toMatchObject({ provider: 'faster-whisper', model: 'base.en' });
    await expect(recommend(profile(3, 'cpu', 2), [provider('faster-whisper', true, undefined, { configuredModel: 'large-v3' })])).rejects.toThrow(
      /configured model is larger than tiny.en/,
    );
  });

  it('recommends a third-party provider when it is the only usable one', async () => {
    const r = await recommend(profile(16, 'cpu', 8), [provider('faster-whisper', false), provider('acme-echo', true, undefined, { configuredModel: 'acme-small' })]);
    expect(r).toMatchObject({ provider: 'acme-echo', model: 'acme-small', device: 'cpu' });
  });

  it('fails with every reason when nothing is usable', async () => {
    const err = await recommend(profile(16, 'cpu', 8), [provider('faster-whisper', true, []), provider('whisper-cpp', false)]).catch((e) => e);
    expect(hasErrorCode(err, 'PROVIDER_UNAVAILABLE')).toBe(true);
    expect(err.message).toContain('faster-whisper: none of medium.en, small.en, base.en, tiny.en is present');
    expect(err.message).toContain('whisper-cpp: unavailable: whisper-cpp is not installed');
  });

  it('covers every tier × accelerator × core count × availability without naming anything unavailable', async () => {
    const scenarios: { name: string; providers: () => ProviderCandidate[]; usable: string[] }[] = [
      { name: 'all', providers: () => [provider('faster-whisper', true, ALL), provider('whisper-cpp', true, ALL), provider('voxtral', true, undefined, { configuredModel: 'voxtral-mini-4b-realtime' })], usable: ['faster-whisper', 'whisper-cpp', 'voxtral'] },
      { name: 'fw tiny only', providers: () => [provider('faster-whisper', true, ['tiny.en']), provider('whisper-cpp', false), provider('voxtral', false)], usable: ['faster-whisper'] },
      { name: 'cpp only', providers: () => [provider('faster-whisper', false), provider('whisper-cpp', true, ['base.en', 'small.en'])], usable: ['whisper-cpp'] },
      { name: 'fw + cpp tiny', providers: () => [provider('faster-whisper', true, ['tiny.en', 'base.en']), provider('whisper-cpp', true, ['tiny.en'])], usable: ['faster-whisper', 'whisper-cpp'] },
    ];
    let count = 0;
    for (const rc of RAM_CLASSES) {
      for (const acc of ['cpu', 'metal', 'cuda'] as const) {
        for (const cores of [1, 2, 4, 16]) {
          for (const sc of scenarios) {
            const list = sc.providers();
            const r = await recommend(profile(GIB_BY_CLASS[rc], acc, cores), list);
            count++;
            const where = `${rc}/${acc}/${cores}/${sc.name}`;
            expect([where, r.tier]).toEqual([where, `${rc}-${acc}`]);
            expect([where, sc.usable.includes(r.provider)]).toEqual([where, true]);
            const check = async (setup: { provider: string; model?: string; device: Device }) => {
              const p = list.find((x) => x.name === setup.provider)!;
              expect([where, (await p.availability()).available]).toEqual([where, true]);
              if (setup.model && p.models) {
                const have = typeof p.models === 'function' ? await p.models() : p.models;
                expect([where, setup.model, have.find((m) => m.name === setup.model)?.available]).toEqual([where, setup.model, true]);
              }
              if (setup.device === 'cuda') expect([where, acc]).toEqual([where, 'cuda']);
              if (setup.device === 'metal') expect([where, acc]).toEqual([where, 'metal']);
            };
            await check(r);
            const usable = sc.usable.filter((u) => u !== 'voxtral' || (acc === 'metal' && rc === 'ultra'));
            const secondExists = usable.some((u) => u !== r.provider);
            expect([where, r.fallback !== undefined]).toEqual([where, secondExists]);
            if (r.fallback) {
              expect(r.fallback.provider).not.toBe(r.provider);
              await check(r.fallback);
            }
            expect(r.reasons.length).toBeGreaterThanOrEqual(4);
          }
        }
      }
    }
    expect(count).toBe(5 * 3 * 4 * 4);
  });
});
