// ModelManager over the REAL faster-whisper provider (Python worker, tiny.en), loaded the way a host loads it:
// through the runtime's import map and plugin registry (core has no static dependency on the provider).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ASRProvider, hasErrorCode, pcmFrames } from '@echopanel/plugin-api';
import { createRuntime, type EchoPanelRuntime } from '../runtime/create-runtime.js';
import {
  concatPcm,
  RECOGNIZABLE_WER,
  silence,
  SPEECH_SENTENCES,
  synthesizeSpeech,
  TranscriptPool,
} from '@echopanel/plugin-testkit';
import { ModelManager, type ModelStateChange } from './model-manager.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** Every transcript below, bounded pooled by the last test (measured 1 error in 45 words); each one only loosely. */
const transcripts = new TranscriptPool();
const POOLED_WER_BOUND = 0.15;

/** Python children of this process (the faster-whisper workers). */
function pythonChildren(): number[] {
  let out: string;
  try {
    out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when there are no children
  }
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([pid, comm]) => pid && /python/i.test(comm ?? ''))
    .map(([pid]) => Number(pid));
}

async function until(cond: () => boolean, ms = 15000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('ModelManager over the real faster-whisper provider', () => {
  let runtime: EchoPanelRuntime;
  let provider: ASRProvider;

  beforeAll(async () => {
    runtime = await createRuntime({
      cwd: repoRoot,
      // 15 s chunks: each test utterance is decoded whole (this suite measures the lifecycle, not chunking).
      inline: { providers: { 'faster-whisper': { model: 'tiny.en', beamSize: 1, chunkSeconds: 15 } }, models: { allowDownload: false } },
    });
    provider = await runtime.providers.create('faster-whisper');
    const a = await provider.availability();
    if (!a.available) throw new Error(`faster-whisper must be usable for this test: ${a.reason} (${a.hint ?? ''})`);
  });

  const managers: ModelManager[] = [];
  const track = (m: ModelManager) => (managers.push(m), m);
  afterEach(async () => {
    // A failed assertion must not leave a worker behind for the next test.
    for (const m of managers.splice(0)) await m.unload().catch(() => undefined);
  });

  afterAll(async () => {
    await runtime?.dispose();
  });

  it('loads, warms up (levels 2 + 3) on the shipped speech, serves, unloads (worker gone) and loads again', async () => {
    const manager = track(new ModelManager({ provider, warmupLevel: 3, warmup: { level3Iterations: 2 } }));
    const states: string[] = [];
    manager.on('state', (e: ModelStateChange) => states.push(e.to));
    await manager.initialize();
    expect(states).toEqual(['LOADING', 'WARMING_UP', 'READY']);
    const h = manager.health();
    expect(h).toMatchObject({ provider: 'faster-whisper', state: 'READY', modelResident: true });
    expect(h.loadMs).toBeGreaterThan(0);
    expect(h.warmupMs).toBeGreaterThan(0);
    expect(h.workerPid).toBeGreaterThan(0);
    expect(h.memory.workerRssBytes).toBeGreaterThan(50 * 1024 * 1024);
    expect(h.memory.modelResidentBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(h.memory.processRssBytes).toBeGreaterThan(0);
    const warm = h.extra?.warmup as { levels: { level: number; inferences: number; exceeded: boolean }[] };
    expect(warm.levels.map((l) => [l.level, l.inferences, l.exceeded])).toEqual([
      [2, 1, false],
      [3, 2, false],
    ]);
    expect(h.inferences).toBe(3);

    const speech = synthesizeSpeech(SPEECH_SENTENCES[1], { padSeconds: 0.3 });
    const segs = await manager.decode(speech.samples, { sampleRate: 16000 });
    expect(transcripts.heard(SPEECH_SENTENCES[1], segs.map((s) => s.text).join(' '))).toBeLessThan(RECOGNIZABLE_WER);

    const pid = h.workerPid!;
    expect(pythonChildren()).toContain(pid);
    await manager.unload();
    expect(states.slice(-2)).toEqual(['UNLOADING', 'UNINITIALIZED']);
    expect(manager.health().modelResident).toBe(false);
    expect(manager.health().workerPid).toBeUndefined();
    await until(() => !pythonChildren().includes(pid));
    await expect(manager.decode(speech.samples, { sampleRate: 16000 })).rejects.toMatchObject({ code: 'NOT_READY' });

    await manager.initialize();
    const pid2 = manager.health().workerPid!;
    expect(pid2).toBeGreaterThan(0);
    expect(pid2).not.toBe(pid);
    await manager.unload();
    await until(() => pythonChildren().length === 0);
  }, 240000);

  it('a load that runs past its timeout is cancelled: INIT_TIMEOUT, and no worker is left running', async () => {
    expect(pythonChildren()).toEqual([]);
    // No availability check: the 150 ms must run out inside the worker start itself.
    const manager = track(new ModelManager({ provider, checkAvailability: false }));
    const err = await manager.initialize({ timeoutMs: 150 }).catch((e: unknown) => e);
    expect(hasErrorCode(err, 'INIT_TIMEOUT')).toBe(true);
    expect(manager.state).toBe('ERROR');
    // The worker that was starting is stopped once its start settles.
    await until(() => pythonChildren().length === 0, 60000);
    expect(provider.health?.().modelResident).toBe(false);
    await manager.retry();
    expect(manager.state).toBe('READY');
    await manager.unload();
    await until(() => pythonChildren().length === 0);
  }, 240000);

  it('hot-swaps to another faster-whisper instance while a stream is in flight on the old one', async () => {
    const manager = track(new ModelManager({ provider, warmupLevel: 1 }));
    await manager.initialize();
    const oldPid = manager.health().workerPid!;
    const next = await runtime.providers.create('faster-whisper', { model: 'tiny.en', beamSize: 2, chunkSeconds: 15 });
    expect(next).not.toBe(provider);
    const a = synthesizeSpeech(SPEECH_SENTENCES[1]);
    const b = synthesizeSpeech(SPEECH_SENTENCES[2]);
    const pcm = concatPcm(a.samples, silence(0.5), b.samples);
    let texts = '';
    let switched: Promise<void> | undefined;
    let frames = 0;
    const streaming = (async () => {
      async function* audio() {
        for await (const f of pcmFrames(pcm, 3200)) {
          // Start the swap once the stream is under way.
          if (++frames === 10) switched = manager.switchModel(next);
          yield f;
        }
      }
      for await (const s of manager.transcribe(audio(), { sampleRate: 16000 })) texts += ` ${s.text}`;
    })();
    await streaming;
    await switched;
    expect(manager.provider).toBe(next);
    const newPid = manager.health().workerPid!;
    expect(newPid).not.toBe(oldPid);
    // The old stream finished on the old worker, which was then stopped.
    expect(transcripts.heard(`${SPEECH_SENTENCES[1]} ${SPEECH_SENTENCES[2]}`, texts)).toBeLessThan(RECOGNIZABLE_WER);
    await until(() => !pythonChildren().includes(oldPid));
    expect(pythonChildren()).toContain(newPid);
    await manager.unload();
    await until(() => pythonChildren().length === 0);
  }, 240000);
});

describe('accuracy over the whole file', () => {
  it(`pools every transcript above: WER ≤ ${POOLED_WER_BOUND * 100} % over at least 40 words`, () => {
    const pooled = transcripts.pooled();
    expect(pooled.referenceWords).toBeGreaterThanOrEqual(40);
    expect(pooled.wer).toBeLessThanOrEqual(POOLED_WER_BOUND);
  });
});
