import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PcmByteAligner, pcmFrames, type Segment, type TranscriptionEvent } from '@echopanel/plugin-api';
import { SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import { makeProvider, TEST_PYTHON, tinyEnDir } from './__fixtures__/test-context.js';
import type { FasterWhisperProvider } from './faster-whisper-provider.js';

async function run(provider: FasterWhisperProvider, audio: AsyncIterable<Int16Array>) {
  const events: TranscriptionEvent[] = [];
  const segments: Segment[] = [];
  for await (const s of provider.transcribe(audio, { sampleRate: 16000, onEvent: (e) => events.push(e) })) segments.push(s);
  const count = (type: string) => events.filter((e) => e.type === type).reduce((n, e) => n + (e as { samples: number }).samples, 0);
  return { segments, events, transcribed: count('transcribed'), skipped: count('skipped'), dropped: count('dropped') };
}

async function* framesOfSizes(pcm: Int16Array, sizes: number[]): AsyncGenerator<Int16Array> {
  for (let i = 0, k = 0; i < pcm.length; k++) {
    const n = sizes[k % sizes.length];
    yield pcm.subarray(i, Math.min(pcm.length, i + n));
    i += n;
  }
}

/** What a WebSocket would deliver: the bytes of `pcm` cut at odd byte counts, aligned by the host's PcmByteAligner. */
async function* oddByteFrames(pcm: Int16Array, byteSizes: number[]): AsyncGenerator<Int16Array> {
  const bytes = new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const aligner = new PcmByteAligner();
  for (let i = 0, k = 0; i < bytes.length; k++) {
    const n = byteSizes[k % byteSizes.length];
    yield aligner.push(bytes.subarray(i, Math.min(bytes.length, i + n)));
    i += n;
  }
}

describe('bad and unusual input', () => {
  const provider = makeProvider({ chunkSeconds: 4, computeType: 'int8' });
  const speech = synthesizeSpeech(SPEECH_SENTENCES[2], { padSeconds: 0.3 });
  let reference: Awaited<ReturnType<typeof run>>;

  beforeAll(async () => {
    reference = await run(provider, pcmFrames(speech.samples, 1600));
  });
  afterAll(() => provider.unload());

  it('frames of odd byte counts (aligned by PcmByteAligner) give the same transcript as aligned frames', async () => {
    const r = await run(provider, oddByteFrames(speech.samples, [1, 3, 4097, 999, 2, 7]));
    expect(r.segments).toEqual(reference.segments);
    expect(r.transcribed + r.skipped).toBe(speech.samples.length);
  });

  it('frames of odd sample counts, single samples and empty frames give the same transcript', async () => {
    const r = await run(provider, framesOfSizes(speech.samples, [1, 0, 3, 333, 2, 4097, 1]));
    expect(r.segments).toEqual(reference.segments);
    expect(r.transcribed + r.skipped).toBe(speech.samples.length);
    expect(reference.segments.map((s) => s.text).join(' ')).toMatch(/station/i);
  });

  it('an empty stream yields nothing and calls no model', async () => {
    // The worker's own timing of its last inference changes with any call into the model.
    const before = provider.health().extra?.engineLastInferMs;
    const r = await run(provider, pcmFrames(new Int16Array(0)));
    expect(r.segments).toEqual([]);
    expect(r.events).toEqual([]);
    expect(provider.health().extra?.engineLastInferMs).toBe(before);
  });

  it('one hour of zeros: every chunk skipped as silence, no inference, no memory growth', async () => {
    await provider.load();
    const before = provider.health();
    // Retained memory: heap + array buffers after full GCs (the test script runs node with --expose-gc; array
    // buffer memory is released by a concurrent sweeper, hence the second pass after a turn of the loop).
    const gc = (globalThis as { gc?: () => void }).gc!;
    const retained = async () => {
      gc();
      await new Promise((r) => setImmediate(r));
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const second = new Int16Array(16000);
    const samples: number[] = [];
    // Sampled while the stream runs: anything that buffered the hour would show here.
    async function* zeros() {
      for (let i = 0; i < 3600; i++) {
        if (i % 900 === 899) samples.push(await retained());
        yield second;
      }
    }
    const retainedBefore = await retained();
    const r = await run(provider, zeros());
    samples.push(await retained());
    const after = provider.health();
    expect(r.segments).toEqual([]);
    expect(r.skipped).toBe(3600 * 16000);
    expect(r.transcribed + r.dropped).toBe(0);
    expect(r.events.every((e) => e.type === 'skipped' && e.reason === 'silence')).toBe(true);
    expect(after.extra?.engineLastInferMs).toBe(before.extra?.engineLastInferMs);
    // The stream holds one chunk at a time (4 s = 128 KB); an hour buffered would be 115 MB. The 900 events
    // collected by this test take well under 1 MB.
    // Buffering would grow ~29 MB per sample (15 min of audio); the median ignores a one-off blip.
    expect(samples).toHaveLength(5);
    const growth = samples.map((x) => x - retainedBefore).sort((a, b) => a - b);
    expect(growth[2]).toBeLessThan(4 * 1024 * 1024);
    // Nothing reached the worker.
    expect(Math.abs(after.memory!.workerRssBytes! - before.memory!.workerRssBytes!)).toBeLessThan(10 * 1024 * 1024);
  });
});

describe('environment problems', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'fw-env-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('a working setup is available', async () => {
    expect(await makeProvider().availability()).toEqual({ available: true });
  });

  it('unknown model name: availability says why, load and transcribe fail with MODEL_NOT_FOUND', async () => {
    const p = makeProvider({ model: 'no-such-model' });
    const a = await p.availability();
    expect(a.available).toBe(false);
    expect(a.reason).toMatch(/^ct2 model "no-such-model" not found; searched: .*Fix: use a catalog name/);
    await expect(p.load()).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    const it = p.transcribe(pcmFrames(new Int16Array(16000)), { sampleRate: 16000 })[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(p.health()).toMatchObject({ state: 'ERROR', modelResident: false });
    const byPath = makeProvider({ model: path.join(tmp, 'missing-dir') });
    expect((await byPath.availability()).reason).toMatch(/missing-dir/);
    await expect(byPath.load()).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('wrong pythonPath: not available, with the reason; load fails with WORKER_START_FAILED', async () => {
    const p = makeProvider({ pythonPath: '/nonexistent/bin/python3' });
    const a = await p.availability();
    expect(a).toMatchObject({ available: false, reason: 'no Python interpreter at /nonexistent/bin/python3 (ENOENT)' });
    expect(a.hint).toMatch(/pythonPath/);
    await expect(p.load()).rejects.toMatchObject({ code: 'WORKER_START_FAILED', message: expect.stringContaining('/nonexistent/bin/python3') });
  });

  it('a Python without faster_whisper: not available, with the pip command', async () => {
    const venv = path.join(tmp, 'bare-venv');
    execFileSync(TEST_PYTHON, ['-m', 'venv', '--without-pip', venv]);
    const python = path.join(venv, 'bin/python');
    const a = await makeProvider({ pythonPath: python }).availability();
    expect(a.available).toBe(false);
    expect(a.reason).toMatch(/^python module faster_whisper is not importable by .*bare-venv\/bin\/python: ModuleNotFoundError/);
    expect(a.hint).toBe(`${python} -m pip install faster-whisper`);
  });

  it('corrupt weights: load fails with MODEL_CORRUPT and the engine message', async () => {
    const dir = path.join(tmp, 'corrupt');
    execFileSync('mkdir', ['-p', dir]);
    const source = await tinyEnDir();
    for (const f of ['config.json', 'tokenizer.json', 'vocabulary.txt']) copyFileSync(path.join(source, f), path.join(dir, f));
    // A real CTranslate2 header (what the resolver checks) followed by garbage: only the engine can tell.
    const header = readFileSync(path.join(source, 'model.bin')).subarray(0, 4096);
    writeFileSync(path.join(dir, 'model.bin'), Buffer.concat([header, Buffer.alloc(4096, 7)]));
    const p = makeProvider({ model: dir, startTimeoutMs: 60000 });
    await expect(p.load()).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringContaining(dir) });
    expect(p.health().modelResident).toBe(false);
  });
});
