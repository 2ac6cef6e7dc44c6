import { spawn } from 'node:child_process';
import type { DecodeBatchItem, Segment } from '@echopanel/plugin-api';
import { RECOGNIZABLE_WER, SPEECH_SENTENCES, synthesizeSpeech, TranscriptPool } from '@echopanel/plugin-testkit';
import { makeProvider, TEST_PYTHON, tinyEnDir } from './__fixtures__/test-context.js';
import { type BatchResultMessage, LineSplitter, parseMessage, type WorkerMessage } from './protocol.js';
import { WORKER_SCRIPT_PATH } from './worker-script.js';

/**
 * Varied voices, rates and lengths (2–7 s): encoder windows of 18, 20 and 22 s, so the worker groups five, two
 * and one of them. 90 words.
 */
const UTTERANCES = [
  [SPEECH_SENTENCES[0], 'en-us', 150],
  [SPEECH_SENTENCES[1], 'en-gb', 170],
  [SPEECH_SENTENCES[2], 'en-us+f3', 160],
  [SPEECH_SENTENCES[3], 'en-us+m3', 165],
  ['Good morning, everyone.', 'en-gb+f2', 150],
  ['The meeting has been moved to Thursday afternoon, so please tell the rest of the team before the end of the day.', 'en-us', 175],
  ['Can you hear me now?', 'en-us+f4', 160],
  ['Seven hundred people attended the conference in Berlin last year.', 'en-gb', 160],
] as const;

const speech = UTTERANCES.map(([text, voice, wpm]) => synthesizeSpeech(text, { voice, wpm, padSeconds: 0.3 }));
const text = (segments: readonly Segment[]) => segments.map((s) => s.text).join(' ');

/** The 90 words here measured 3.3 % WER pooled ("quick roundfire jump", "700"); 10 % leaves room for other CPUs. */
const POOLED_WER_BOUND = 0.1;

describe('decodeBatch (real faster-whisper worker, tiny.en, beam 5)', () => {
  const provider = makeProvider({ computeType: 'int8' });
  afterAll(() => provider.unload());

  it('gives every utterance the segments decode gives it alone, decoding them together', async () => {
    const items: DecodeBatchItem[] = speech.map((s, i) => ({ pcm: s.samples, opts: { sampleRate: 16000, offsetSeconds: 10 * i } }));
    const alone: Segment[][] = [];
    for (const item of items) alone.push(await provider.decode(item.pcm, item.opts));
    const before = provider.health().extra!;
    const batched = await provider.decodeBatch(items);
    const after = provider.health().extra!;

    expect(batched.map(text)).toEqual(alone.map(text));
    const times = (r: Segment[][]) => r.map((segs) => segs.map((s) => [s.start, s.end]));
    expect(times(batched)).toEqual(times(alone));
    // The 18 s and 20 s groups shared engine calls; the one 22 s utterance was decoded alone.
    expect(Number(after.batchItemsShared) - Number(before.batchItemsShared)).toBe(7);
    expect(Number(after.batchItemsAlone) - Number(before.batchItemsAlone)).toBe(1);

    const pool = new TranscriptPool();
    batched.forEach((segs, i) => expect(pool.heard(UTTERANCES[i][0], text(segs))).toBeLessThan(RECOGNIZABLE_WER));
    const pooled = pool.pooled();
    expect(pooled.referenceWords).toBeGreaterThanOrEqual(40);
    expect(pooled.wer).toBeLessThan(POOLED_WER_BOUND);
  });

  it('keeps each item its own prompt and word timestamps, and an empty item its place', async () => {
    const picked = [speech[1], speech[2], speech[3]];
    const items: DecodeBatchItem[] = [
      ...picked.map((s, i) => ({ pcm: s.samples, opts: { sampleRate: 16000, wordTimestamps: true, prompt: i === 1 ? 'Trains and stations.' : undefined } })),
      { pcm: new Int16Array(0), opts: { sampleRate: 16000 } },
    ];
    const alone: Segment[][] = [];
    for (const item of items) alone.push(await provider.decode(item.pcm, item.opts));
    const before = provider.health().extra!;
    const batched = await provider.decodeBatch(items);
    // The two utterances without a prompt shared a call; the prompted one has its start token elsewhere.
    expect(Number(provider.health().extra!.batchItemsShared) - Number(before.batchItemsShared)).toBe(2);
    expect(batched.map(text)).toEqual(alone.map(text));
    const words = (r: Segment[][]) => r.map((segs) => segs.flatMap((s) => s.words!.map((w) => [w.word, w.start, w.end])));
    expect(words(batched)).toEqual(words(alone));
    expect(batched[3]).toEqual([]);
    expect(words(batched)[0].length).toBeGreaterThan(10);
  });

  it('a worker killed during a batch: restarted, the batch retried once, the same words', async () => {
    const items: DecodeBatchItem[] = speech.slice(0, 4).map((s) => ({ pcm: s.samples, opts: { sampleRate: 16000 } }));
    const expected = (await provider.decodeBatch(items)).map(text);
    const { workerPid, restarts } = provider.health();
    const retried = provider.decodeBatch(items);
    process.kill(workerPid!, 'SIGKILL');
    expect((await retried).map(text)).toEqual(expected);
    expect(provider.health().restarts).toBe(restarts! + 1);
    expect(provider.health().workerPid).not.toBe(workerPid);
  });

  it('declares its batch size from the config; 1 turns batching off', () => {
    expect(provider.capabilities.maxBatchSize).toBe(8);
    expect(makeProvider({ maxBatchSize: 1 }).capabilities.maxBatchSize).toBe(1);
  });
});

describe('transcribe_batch (the worker op)', () => {
  it('answers a malformed item with INVALID_AUDIO, decodes the others and stays alive', async () => {
    const child = spawn(TEST_PYTHON, ['-u', WORKER_SCRIPT_PATH, '--model', await tinyEnDir(), '--compute-type', 'int8'], { stdio: 'pipe' });
    try {
      const messages: WorkerMessage[] = [];
      const waiters: (() => void)[] = [];
      const lines = new LineSplitter();
      child.stdout.on('data', (chunk: Buffer) => {
        for (const line of lines.push(chunk)) {
          const msg = parseMessage(line);
          if (msg) messages.push(msg);
        }
        for (const w of waiters.splice(0)) w();
      });
      const next = async (type: string) => {
        while (!messages.some((m) => m.type === type)) await new Promise<void>((resolve) => waiters.push(resolve));
        return messages.find((m) => m.type === type)!;
      };
      await next('ready');

      const good = [speech[1].samples, speech[2].samples].map((s) => Buffer.from(s.buffer, s.byteOffset, s.byteLength));
      const odd = Buffer.alloc(3001, 1);
      const payload = Buffer.concat([good[0], odd, good[1]]);
      const items = [good[0], odd, good[1]].map((b) => ({ bytes: b.byteLength, encoderSeconds: 20 }));
      // Written by hand: encodeFrame only frames whole samples.
      const frame = (header: object, body = Buffer.alloc(0)) => {
        const json = Buffer.from(JSON.stringify({ ...header, bytes: body.byteLength }));
        const len = Buffer.alloc(4);
        len.writeUInt32LE(json.byteLength);
        return Buffer.concat([len, json, body]);
      };
      child.stdin.write(frame({ op: 'transcribe_batch', id: 1, beamSize: 5, items }, payload));
      child.stdin.write(frame({ op: 'ping', id: 2 }));

      const result = (await next('result_batch')) as BatchResultMessage;
      expect(result.id).toBe(1);
      expect(result.items[1]).toEqual({ error: { code: 'INVALID_AUDIO', message: 'item 1: s16le payload of 3001 bytes is not a whole number of samples' } });
      const decoded = [result.items[0], result.items[2]].map((item) => ('error' in item ? item.error.message : item.segments.map((s) => s.text).join(' ')));
      expect(decoded[0]).toMatch(/Stella/);
      expect(decoded[1]).toMatch(/station/);
      // The two good items shared one generate call.
      expect([result.items[0], result.items[2]].map((item) => ('batchSize' in item ? item.batchSize : 0))).toEqual([2, 2]);
      expect(await next('pong')).toMatchObject({ id: 2 });
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
