// The degrade ladder over the REAL providers' tuning: each step moves its knob in its direction starting from the
// provider's own settings (not asr.chunkSeconds), and recovery puts back exactly what was in force.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ASRProvider } from '@echopanel/plugin-api';
import type { DegradeLevelChange } from '../health/provider-health.js';
import { createRuntime, type EchoPanelRuntime } from '../runtime/create-runtime.js';
import { createProviderDegradeActions } from './degrade-actions.js';
import { DegradeLadder } from './degrade-ladder.js';
import { DropPolicy } from './drop-policy.js';
import { FakeClock } from './fake-clock.fixture.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

describe('DegradeLadder over real providers', () => {
  let runtime: EchoPanelRuntime;

  beforeAll(async () => {
    for (const m of ['@echopanel/provider-faster-whisper', '@echopanel/provider-whisper-cpp']) await import(m);
    runtime = await createRuntime({
      cwd: repoRoot,
      inline: {
        // A user's own beam (3) and chunk (4.5 s); asr.chunkSeconds (2) is the pipeline's, not the provider's.
        asr: { chunkSeconds: 2 },
        providers: {
          'faster-whisper': { model: 'tiny.en', beamSize: 3, chunkSeconds: 4.5 },
          'whisper-cpp': { model: 'tiny.en', beamSize: 3, chunkSeconds: 4.5 },
        },
        models: { allowDownload: false },
      },
    });
  }, 60000);
  afterAll(() => runtime?.dispose());

  it.each(['faster-whisper', 'whisper-cpp'])('%s: every step moves its knob its way; recovery restores exactly', async (name) => {
    const provider: ASRProvider = await runtime.providers.create(name);
    const before = provider.tuning!();
    expect(before).toEqual({ chunkSeconds: 4.5, beamSize: 3, model: 'tiny.en' });
    const clock = new FakeClock();
    const drop = new DropPolicy();
    const ladder = new DegradeLadder({
      actions: createProviderDegradeActions({ provider, dropPolicy: drop }),
      // What the server passed before: the pipeline's chunk length. The provider's own settings must win.
      baseline: { chunkSeconds: runtime.config.asr.chunkSeconds, beamSize: 5 },
      settings: { minLevelSeconds: 0, recoveryWindowSeconds: 1 },
      clock,
    });
    // What is in force right after each level change.
    const seen: Array<[string, unknown, boolean]> = [];
    ladder.on('level', (c: DegradeLevelChange) => seen.push([`${c.from}>${c.to}`, provider.tuning!(), drop.enabled]));

    await ladder.observe(0.9);
    await ladder.observe(1.05);
    await ladder.observe(1.3);
    expect(ladder.level).toBe('EMERGENCY');
    for (let s = 1; ladder.level !== 'NORMAL' && s < 20; s++) {
      clock.at(s * 2);
      await ladder.observe(0.1);
    }
    expect(seen).toEqual([
      ['NORMAL>WARNING', { ...before, chunkSeconds: 5.5 }, false], // bigger chunks, from the provider's 4.5 s
      ['WARNING>DEGRADE', { ...before, chunkSeconds: 5.5, beamSize: 1 }, false], // narrower beam (no model smaller than tiny.en)
      ['DEGRADE>EMERGENCY', { ...before, chunkSeconds: 5.5, beamSize: 1 }, true], // dropping
      // One level per recovery window, each reverting exactly its own step.
      ['EMERGENCY>DEGRADE', { ...before, chunkSeconds: 5.5, beamSize: 1 }, false],
      ['DEGRADE>WARNING', { ...before, chunkSeconds: 5.5 }, false],
      ['WARNING>NORMAL', before, false],
    ]);
  });
});
