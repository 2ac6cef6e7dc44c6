import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pcmFrames, type Segment, type TranscriptionEvent } from '@echopanel/plugin-api';
import {
  concatPcm,
  processExists,
  RECOGNIZABLE_WER,
  SPEECH_SENTENCES,
  synthesizeSpeech,
  TranscriptPool,
} from '@echopanel/plugin-testkit';
import { makeProvider } from './__fixtures__/test-context.js';
import type { FasterWhisperProvider } from './faster-whisper-provider.js';

/**
 * Every transcript below, bounded pooled by the last test; each one on its own only has to be recognizably the
 * sentence. Measured 16.8 % over 131 words (the 4 s chunks of the worker-death tests cut words at their edges).
 */
const transcripts = new TranscriptPool();
const POOLED_WER_BOUND = 0.35;

const HANG_HOOK_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '__fixtures__/hang');

async function run(provider: FasterWhisperProvider, pcm: Int16Array, onEvent?: (e: TranscriptionEvent) => void) {
  const events: TranscriptionEvent[] = [];
  const segments: Segment[] = [];
  for await (const s of provider.transcribe(pcmFrames(pcm, 1600), {
    sampleRate: 16000,
    onEvent: (e) => {
      events.push(e);
      onEvent?.(e);
    },
  })) {
    segments.push(s);
  }
  const count = (type: string) => events.filter((e) => e.type === type).reduce((n, e) => n + ((e as { samples?: number }).samples ?? 1), 0);
  return { segments, events, text: segments.map((s) => s.text).join(' '), transcribed: count('transcribed'), skipped: count('skipped'), dropped: count('dropped') };
}

async function waitUntil(cond: () => boolean, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('worker death', () => {
  const provider = makeProvider({ chunkSeconds: 4, computeType: 'int8' });
  afterAll(() => provider.unload());

  it('kill -9 of the worker mid-stream: the chunk is retried on a new worker, the stream completes and reports the restart', async () => {
    const text = SPEECH_SENTENCES.slice(1).join(' ');
    const pcm = concatPcm(...SPEECH_SENTENCES.slice(1).map((t) => synthesizeSpeech(t, { padSeconds: 0.3 }).samples));
    await provider.load();
    const firstPid = provider.health().workerPid!;
    let transcribedChunks = 0;
    let killedAt: number | undefined;
    // Waits for a request in flight after the first chunk, then kills the worker under it.
    const killer = setInterval(() => {
      if (killedAt === undefined && transcribedChunks >= 1 && (provider.health().extra?.queued as number) >= 1) {
        killedAt = transcribedChunks;
        process.kill(firstPid, 'SIGKILL');
      }
    }, 1);
    const r = await run(provider, pcm, (e) => {
      if (e.type === 'transcribed') transcribedChunks++;
    });
    clearInterval(killer);
    expect(killedAt).toBe(1);
    const restarts = r.events.filter((e) => e.type === 'restart');
    expect(restarts).toHaveLength(1);
    expect(restarts[0]).toMatchObject({ reason: expect.stringMatching(/^WORKER_CRASHED: .*killed by SIGKILL/) });
    expect(r.events.filter((e) => e.type === 'error')).toHaveLength(0);
    expect(r.dropped).toBe(0);
    expect(r.transcribed + r.skipped).toBe(pcm.length);
    // The retried chunk is decoded exactly as in an undisturbed run (same audio, same model, deterministic).
    const undisturbed = await run(provider, pcm);
    expect(r.text).toBe(undisturbed.text);
    expect(transcripts.heard(text, r.text)).toBeLessThan(RECOGNIZABLE_WER);
    const h = provider.health();
    expect(h.restarts).toBe(1);
    expect(h.workerPid).not.toBe(firstPid);
    expect(processExists(h.workerPid!)).toBe(true);
    expect(processExists(firstPid)).toBe(false);
    expect(h.state).toBe('READY');
  });

  it('a worker that died between two chunks of a stream is restarted with a restart event', async () => {
    const pcm = concatPcm(...SPEECH_SENTENCES.slice(1, 3).map((t) => synthesizeSpeech(t, { padSeconds: 0.3 }).samples));
    const pid = provider.health().workerPid!;
    let transcribed = 0;
    async function* audio() {
      for (let i = 0; i < pcm.length; i += 1600) {
        if (transcribed === 1 && provider.health().modelResident) {
          process.kill(pid, 'SIGKILL');
          await waitUntil(() => !provider.health().modelResident);
        }
        yield pcm.subarray(i, i + 1600);
      }
    }
    const events: TranscriptionEvent[] = [];
    const texts: string[] = [];
    for await (const s of provider.transcribe(audio(), {
      sampleRate: 16000,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'transcribed') transcribed++;
      },
    })) {
      texts.push(s.text);
    }
    expect(events.filter((e) => e.type === 'restart')).toEqual([
      { type: 'restart', reason: expect.stringMatching(/^WORKER_CRASHED: faster-whisper worker is not running \(killed by SIGKILL\)/) },
    ]);
    expect(events.filter((e) => e.type === 'dropped' || e.type === 'error')).toEqual([]);
    // The restarted worker decodes the chunk exactly as an undisturbed run does.
    const undisturbed = await run(provider, pcm);
    expect(texts.join(' ')).toBe(undisturbed.text);
    expect(transcripts.heard(SPEECH_SENTENCES.slice(1, 3).join(' '), texts.join(' '))).toBeLessThan(RECOGNIZABLE_WER);
    expect(provider.health().workerPid).not.toBe(pid);
  });

  it('a worker that died while idle is replaced at the next stream', async () => {
    const pid = provider.health().workerPid!;
    process.kill(pid, 'SIGKILL');
    while (provider.health().modelResident) await new Promise((r) => setTimeout(r, 10));
    expect(provider.health().state).toBe('ERROR');
    const r = await run(provider, synthesizeSpeech(SPEECH_SENTENCES[2]).samples);
    expect(transcripts.heard(SPEECH_SENTENCES[2], r.text)).toBeLessThan(RECOGNIZABLE_WER);
    expect(provider.health().workerPid).not.toBe(pid);
    expect(provider.health().state).toBe('READY');
  });
});

describe('hanging worker (test-only sitecustomize hook on PYTHONPATH)', () => {
  let dir: string;
  let flag: string;
  const make = (maxRestarts: number) =>
    makeProvider(
      // int8 + beam 1 decodes this sentence in well under a second even on a loaded machine; 6 s only fires on the hang.
      { chunkSeconds: 15, computeType: 'int8', beamSize: 1, inferenceTimeoutMs: 6000, maxRestarts },
      { env: { ...process.env, PYTHONPATH: HANG_HOOK_DIR, ECHOPANEL_TEST_HANG_FLAG: flag } },
    );
  const speech = () => synthesizeSpeech(SPEECH_SENTENCES[2], { padSeconds: 0.3 }).samples;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fw-hang-'));
    flag = path.join(dir, 'hang');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('one hung inference: the timeout fires, the worker is killed and restarted, the retry succeeds', async () => {
    const provider = make(3);
    try {
      await provider.load();
      const hungPid = provider.health().workerPid!;
      writeFileSync(flag, 'once');
      const r = await run(provider, speech());
      expect(existsSync(flag)).toBe(false); // the hook did hang once
      expect(r.events.filter((e) => e.type === 'restart')).toEqual([
        { type: 'restart', reason: expect.stringMatching(/^INFERENCE_TIMEOUT: inference took longer than 6000 ms/) },
      ]);
      expect(r.dropped).toBe(0);
      expect(transcripts.heard(SPEECH_SENTENCES[2], r.text)).toBeLessThan(RECOGNIZABLE_WER);
      expect(processExists(hungPid)).toBe(false);
      expect(provider.health()).toMatchObject({ restarts: 1, state: 'READY' });
    } finally {
      await provider.unload();
    }
  });

  it('a worker that keeps hanging: the retry times out too, the chunk is reported dropped, the stream ends, the next stream works', async () => {
    const provider = make(3);
    try {
      writeFileSync(flag, 'always');
      const pcm = speech();
      const r = await run(provider, pcm);
      expect(r.segments).toEqual([]);
      expect(r.events.filter((e) => e.type === 'restart')).toHaveLength(1);
      expect(r.events.filter((e) => e.type === 'error')).toEqual([
        { type: 'error', code: 'INFERENCE_TIMEOUT', message: expect.stringContaining('6000 ms'), recovered: false },
      ]);
      expect(r.events.filter((e) => e.type === 'dropped')).toEqual([
        { type: 'dropped', samples: pcm.length, reason: expect.stringMatching(/^INFERENCE_TIMEOUT/), start: 0, end: pcm.length / 16000 },
      ]);
      const h = provider.health();
      expect(h).toMatchObject({ restarts: 1, modelResident: false });
      rmSync(flag);
      const again = await run(provider, pcm);
      expect(transcripts.heard(SPEECH_SENTENCES[2], again.text)).toBeLessThan(RECOGNIZABLE_WER);
      expect(again.events.filter((e) => e.type === 'restart' || e.type === 'error')).toEqual([]);
    } finally {
      await provider.unload();
    }
  });

  it('a model load that hangs: startTimeoutMs fires INIT_TIMEOUT and the worker is killed', async () => {
    const provider = makeProvider(
      { startTimeoutMs: 3000 },
      { env: { ...process.env, PYTHONPATH: HANG_HOOK_DIR, ECHOPANEL_TEST_HANG_FLAG: flag } },
    );
    writeFileSync(flag, 'load');
    await expect(provider.load()).rejects.toMatchObject({ code: 'INIT_TIMEOUT', message: expect.stringContaining('3000 ms') });
    const pid = Number(readFileSync(`${flag}.pid`, 'utf8'));
    await waitUntil(() => !processExists(pid));
    expect(provider.health()).toMatchObject({ state: 'ERROR', modelResident: false });
  });

  it('unload() during a load cancels it: the load rejects ABORTED and the starting worker is killed', async () => {
    const provider = make(3);
    writeFileSync(flag, 'load');
    const loading = provider.load();
    await waitUntil(() => existsSync(`${flag}.pid`));
    const pid = Number(readFileSync(`${flag}.pid`, 'utf8'));
    await provider.unload();
    await expect(loading).rejects.toMatchObject({ code: 'ABORTED' });
    await waitUntil(() => !processExists(pid));
    expect(provider.health()).toMatchObject({ state: 'UNINITIALIZED', modelResident: false });
    rmSync(flag);
    await provider.load();
    expect(provider.health().state).toBe('READY');
    await provider.unload();
  });

  it('stops restarting after maxRestarts failures in a row until load() is called', async () => {
    const provider = make(0);
    try {
      writeFileSync(flag, 'always');
      const pcm = speech();
      const r = await run(provider, pcm);
      expect(r.events.filter((e) => e.type === 'error')).toEqual([
        { type: 'error', code: 'WORKER_CRASHED', message: expect.stringContaining('not restarting it'), recovered: false },
      ]);
      expect(r.dropped).toBe(pcm.length);
      expect(provider.health()).toMatchObject({ state: 'ERROR', modelResident: false });
      await expect(run(provider, pcm)).rejects.toMatchObject({ code: 'WORKER_CRASHED' });
      rmSync(flag);
      await provider.load();
      const again = await run(provider, pcm);
      expect(transcripts.heard(SPEECH_SENTENCES[2], again.text)).toBeLessThan(RECOGNIZABLE_WER);
      expect(provider.health().state).toBe('READY');
    } finally {
      await provider.unload();
    }
  });
});

describe('accuracy over the whole file', () => {
  it(`pools every transcript above: WER ≤ ${POOLED_WER_BOUND * 100} % over more than 100 words`, () => {
    const pooled = transcripts.pooled();
    expect(pooled.referenceWords).toBeGreaterThan(100);
    expect(pooled.wer).toBeLessThanOrEqual(POOLED_WER_BOUND);
  });
});
