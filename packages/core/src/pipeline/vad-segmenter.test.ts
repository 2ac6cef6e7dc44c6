/**
 * @jest-environment ../vad-silero/jest.environment.js
 */
import { SileroVadEngine } from '@echopanel/vad-silero';
import { concatPcm, seededRandom, silence, SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import { rms } from '@echopanel/plugin-api';
import { VadSegmenter, type SegmenterOutput } from './vad-segmenter.js';

const RATE = 16000;
let engine: SileroVadEngine;

beforeAll(async () => {
  engine = new SileroVadEngine();
  await engine.load();
});
afterAll(() => engine.unload());

async function segment(pcm: Int16Array, frame: number, maxSegmentSeconds = 15): Promise<SegmenterOutput[]> {
  const seg = new VadSegmenter(engine.createDetector({ sampleRate: RATE }), { sampleRate: RATE, maxSegmentSeconds });
  const out: SegmenterOutput[] = [];
  for (let i = 0; i < pcm.length; i += frame) out.push(...(await seg.push(pcm.subarray(i, Math.min(pcm.length, i + frame)))));
  out.push(...seg.flush());
  return out;
}

/** First and last sample of 10 ms frames louder than RMS 0.01. */
function voicedRange(pcm: Int16Array): { start: number; end: number } {
  let start = -1;
  let end = 0;
  for (let i = 0; i + 160 <= pcm.length; i += 160) {
    if (rms(pcm.subarray(i, i + 160)) > 0.01) {
      if (start < 0) start = i;
      end = i + 160;
    }
  }
  return { start, end };
}

/** Every sample exactly once, in order. */
function expectPartition(out: readonly SegmenterOutput[], total: number): void {
  let at = 0;
  for (const o of out) {
    expect(o.start).toBe(at);
    expect(o.end).toBeGreaterThan(o.start);
    if (o.type === 'segment') expect(o.pcm.length).toBe(o.end - o.start);
    at = o.end;
  }
  expect(at).toBe(total);
}

describe('VadSegmenter (real Silero VAD)', () => {
  it('cuts two utterances at the pause between them and accounts for every sample', async () => {
    const a = synthesizeSpeech(SPEECH_SENTENCES[0]).samples;
    const b = synthesizeSpeech(SPEECH_SENTENCES[2]).samples;
    const pcm = concatPcm(silence(1), a, silence(1.2), b, silence(1));
    const out = await segment(pcm, 1600);
    expectPartition(out, pcm.length);
    const segs = out.filter((o) => o.type === 'segment');
    expect(segs).toHaveLength(2);
    // The cut lies inside the pause: the first segment ends after utterance a's last sound, the second starts
    // before b's first (espeak pads its output with some silence of its own).
    const pauseStart = RATE + voicedRange(a).end;
    const pauseEnd = RATE + a.length + 1.2 * RATE + voicedRange(b).start;
    expect(segs[0].end).toBeGreaterThanOrEqual(pauseStart - 0.1 * RATE);
    expect(segs[0].end).toBeLessThanOrEqual(pauseEnd);
    expect(segs[1].start).toBeGreaterThanOrEqual(pauseStart);
    expect(segs[1].start).toBeLessThanOrEqual(pauseEnd + 0.1 * RATE);
    // Leading and trailing silence stays out of the segments but for the prefix padding (0.3 s) before a start.
    const firstVoiced = RATE + voicedRange(a).start;
    expect(segs[0].start).toBeGreaterThan(firstVoiced - 0.45 * RATE);
    expect(segs[0].start).toBeLessThan(firstVoiced - 0.25 * RATE);
    expect(out.filter((o) => o.type === 'silence').reduce((n, o) => n + o.end - o.start, 0)).toBeGreaterThan(1.8 * RATE);
  });

  it('gives the same segments for odd frame sizes', async () => {
    const pcm = concatPcm(silence(0.5), synthesizeSpeech(SPEECH_SENTENCES[1]).samples, silence(0.8));
    const a = (await segment(pcm, 1600)).filter((o) => o.type === 'segment').map((o) => [o.start, o.end]);
    const b = (await segment(pcm, 511)).filter((o) => o.type === 'segment').map((o) => [o.start, o.end]);
    expect(b).toEqual(a);
  });

  it('cuts speech longer than maxSegmentSeconds at a quiet point, never past the limit', async () => {
    const speech = synthesizeSpeech(`${SPEECH_SENTENCES[1]} ${SPEECH_SENTENCES[3]}`, { wpm: 190 }).samples;
    const pcm = concatPcm(silence(0.5), speech, silence(0.8));
    const out = await segment(pcm, 1600, 3);
    expectPartition(out, pcm.length);
    const segs = out.filter((o): o is Extract<SegmenterOutput, { type: 'segment' }> => o.type === 'segment');
    expect(segs.some((s) => s.forced)).toBe(true);
    for (const s of segs) expect(s.end - s.start).toBeLessThanOrEqual(3 * RATE);
    // Cut in the quietest window of the allowed span: the audio around forced cuts is quieter than the speech.
    const speechLevel = rms(speech);
    for (const s of segs.filter((x) => x.forced)) {
      const around = pcm.subarray(s.end - 256, s.end + 256);
      expect(rms(around)).toBeLessThan(speechLevel);
    }
  });

  it('holds only a bounded amount of audio through a long silence', async () => {
    const seg = new VadSegmenter(engine.createDetector({ sampleRate: RATE }), { sampleRate: RATE, maxSegmentSeconds: 15 });
    const frame = silence(1);
    let silent = 0;
    for (let i = 0; i < 120; i++) for (const o of await seg.push(frame)) silent += o.end - o.start;
    // All but the pre-roll (at most 1 s) is released as silence while the stream goes on.
    expect(seg.received - silent).toBeLessThanOrEqual(RATE);
  });

  it('sound the VAD does not call speech opens an utterance; a steady noise does not', async () => {
    // A burst of hiss after silence: loud, and no speech to Silero (no events at all) — the way it hears some
    // whispered, creaky or falsetto voices. It must reach the engine (which decides whether it is words).
    const rand = seededRandom(9);
    const hiss = (seconds: number) => Int16Array.from({ length: seconds * RATE }, () => Math.round((rand() - 0.5) * 4000));
    const pcm = concatPcm(silence(1), hiss(1.5), silence(1.5));
    expect((await engine.createDetector({ sampleRate: RATE }).push(pcm)).events).toHaveLength(0);
    const out = await segment(pcm, 1600);
    expectPartition(out, pcm.length);
    const segs = out.filter((o) => o.type === 'segment');
    expect(segs).toHaveLength(1);
    expect(segs[0].start).toBeLessThanOrEqual(1 * RATE);
    expect(segs[0].end).toBeGreaterThanOrEqual(2.5 * RATE);

    // The same hiss throughout is the background, not sound.
    expect((await segment(hiss(6), 1600)).filter((o) => o.type === 'segment')).toHaveLength(0);
  });
  it('commit ends the utterance where the client says, even across a long pause (endpoint Infinity)', async () => {
    const a = synthesizeSpeech(SPEECH_SENTENCES[0]).samples;
    const b = synthesizeSpeech(SPEECH_SENTENCES[3]).samples;
    const first = concatPcm(silence(0.5), a, silence(1.5), b, silence(0.5));
    const seg = new VadSegmenter(engine.createDetector({ sampleRate: RATE }), { sampleRate: RATE, maxSegmentSeconds: 15, endpointSilenceSeconds: Infinity });
    const out: SegmenterOutput[] = [];
    for (let i = 0; i < first.length; i += 1600) out.push(...(await seg.push(first.subarray(i, Math.min(first.length, i + 1600)))));
    // Without the commit the pause did not end it.
    expect(out.filter((o) => o.type === 'segment')).toHaveLength(0);
    out.push(...seg.commit());
    expectPartition(out, first.length);
    const segs = out.filter((o) => o.type === 'segment');
    expect(segs).toHaveLength(1);
    expect(segs[0].start).toBeLessThan(0.5 * RATE);
    expect(segs[0].end).toBeGreaterThanOrEqual(voicedRange(first).end);
  });

  it('after abandon() the reset detector counts from 0 again: later speech still lands where it is', async () => {
    const a = synthesizeSpeech(SPEECH_SENTENCES[0]).samples;
    const seg = new VadSegmenter(engine.createDetector({ sampleRate: RATE }), { sampleRate: RATE, maxSegmentSeconds: 15 });
    const head = concatPcm(silence(0.5), a.subarray(0, RATE));
    await seg.push(head);
    expect(seg.abandon().end).toBe(head.length);
    const tail = concatPcm(silence(1), a, silence(1));
    const out: SegmenterOutput[] = [];
    for (let i = 0; i < tail.length; i += 1600) out.push(...(await seg.push(tail.subarray(i, Math.min(tail.length, i + 1600)))));
    out.push(...seg.flush());
    const segs = out.filter((o) => o.type === 'segment');
    expect(segs).toHaveLength(1);
    const voiced = voicedRange(tail);
    expect(segs[0].start).toBeGreaterThan(head.length + voiced.start - 0.5 * RATE);
    expect(segs[0].start).toBeLessThan(head.length + voiced.start);
    expect(segs[0].end).toBeGreaterThan(head.length + voiced.end);
  });
});
