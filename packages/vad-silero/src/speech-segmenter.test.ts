import type { VadEvent } from '@echopanel/plugin-api';
import { seededRandom } from '@echopanel/plugin-testkit';
import { SpeechSegmenter, segmenterSettings, type SegmenterSettings, type SegmenterTimings } from './speech-segmenter.js';

/**
 * Line-by-line port of Silero's offline `get_speech_timestamps` (v5, classic max-speech split at the last
 * pause) over precomputed probabilities: the oracle the streaming segmenter must agree with.
 */
function sileroOffline(probs: readonly number[], audioLength: number, s: SegmenterSettings): Array<{ start: number; end: number }> {
  const w = s.windowSamples;
  let triggered = false;
  const speeches: Array<{ start?: number; end?: number }> = [];
  let current: { start?: number; end?: number } = {};
  let tempEnd = 0;
  let prevEnd = 0;
  let nextStart = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    const cur = w * i;
    if (p >= s.threshold && tempEnd) {
      tempEnd = 0;
      if (nextStart < prevEnd) nextStart = cur;
    }
    if (p >= s.threshold && !triggered) {
      triggered = true;
      current.start = cur;
      continue;
    }
    if (triggered && cur - current.start! > s.maxSpeechSamples) {
      if (prevEnd) {
        current.end = prevEnd;
        speeches.push(current);
        current = {};
        if (nextStart < prevEnd) triggered = false;
        else current.start = nextStart;
        prevEnd = nextStart = tempEnd = 0;
      } else {
        current.end = cur;
        speeches.push(current);
        current = {};
        prevEnd = nextStart = tempEnd = 0;
        triggered = false;
        continue;
      }
    }
    if (p < s.negThreshold && triggered) {
      if (!tempEnd) tempEnd = cur;
      if (cur - tempEnd > s.minSilenceAtMaxSpeechSamples) prevEnd = tempEnd;
      if (cur - tempEnd < s.minSilenceSamples) continue;
      current.end = tempEnd;
      if (current.end - current.start! > s.minSpeechSamples) speeches.push(current);
      current = {};
      prevEnd = nextStart = tempEnd = 0;
      triggered = false;
      continue;
    }
  }
  if (current.start !== undefined && audioLength - current.start > s.minSpeechSamples) {
    current.end = audioLength;
    speeches.push(current);
  }
  const pad = s.speechPadSamples;
  const out = speeches.map((x) => ({ start: x.start!, end: x.end! }));
  for (let i = 0; i < out.length; i++) {
    if (i === 0) out[i].start = Math.max(0, out[i].start - pad);
    if (i !== out.length - 1) {
      const gap = out[i + 1].start - out[i].end;
      if (gap < 2 * pad) {
        out[i].end += Math.floor(gap / 2);
        out[i + 1].start = Math.max(0, out[i + 1].start - Math.floor(gap / 2));
      } else {
        out[i].end = Math.min(audioLength, out[i].end + pad);
        out[i + 1].start = Math.max(0, out[i + 1].start - pad);
      }
    } else {
      out[i].end = Math.min(audioLength, out[i].end + pad);
    }
  }
  return out;
}

/** Speech-like probability tracks: runs of high and low values of random lengths, with noisy dips. */
function randomTrack(rand: () => number, windows: number): number[] {
  const out: number[] = [];
  let speaking = rand() < 0.5;
  while (out.length < windows) {
    const len = 1 + Math.floor(rand() * (rand() < 0.3 ? 80 : 12));
    for (let k = 0; k < len && out.length < windows; k++) {
      const base = speaking ? 0.55 + rand() * 0.45 : rand() * 0.45;
      out.push(rand() < 0.1 ? rand() : base);
    }
    speaking = !speaking;
  }
  return out;
}

function stream(
  probs: readonly number[],
  audioLength: number,
  s: SegmenterSettings,
  levels?: ReadonlyArray<readonly number[]>,
): { segments: Array<{ start: number; end: number }>; events: VadEvent[]; settledOk: boolean } {
  const seg = new SpeechSegmenter(s);
  const events: VadEvent[] = [];
  let settledOk = true;
  let lastSettled = 0;
  const checkpoints: Array<{ settled: number; emitted: number }> = [];
  for (const [i, p] of probs.entries()) {
    seg.step(p, events, levels?.[i]);
    if (seg.settledSample < lastSettled) settledOk = false;
    lastSettled = seg.settledSample;
    checkpoints.push({ settled: seg.settledSample, emitted: events.length });
  }
  seg.finish(audioLength, events);
  const segments: Array<{ start: number; end: number }> = [];
  let open: number | undefined;
  for (const e of events) {
    if (e.type === 'speech-start') {
      if (open !== undefined) settledOk = false;
      open = e.sample;
    } else {
      if (open !== e.startSample) settledOk = false;
      segments.push({ start: e.startSample, end: e.endSample });
      open = undefined;
    }
  }
  // settledSample's promise, checked after every window: a segment reaching below it was announced by then, and
  // an announced segment whose end was not yet reported ends at or after it.
  for (const cp of checkpoints) {
    const seen = events.slice(0, cp.emitted);
    for (const sg of segments) {
      const started = seen.some((e) => e.type === 'speech-start' && e.sample === sg.start);
      const ended = seen.some((e) => e.type === 'speech-end' && e.startSample === sg.start);
      if (sg.start < cp.settled && !started) settledOk = false;
      if (started && !ended && sg.end < cp.settled) settledOk = false;
    }
  }
  return { segments, events, settledOk };
}

const DEFAULTS: SegmenterTimings = { threshold: 0.5, minSpeechMs: 250, minSilenceMs: 100, speechPadMs: 30, maxSpeechSeconds: Infinity };

describe('SpeechSegmenter', () => {
  const configs: Array<[string, SegmenterTimings, number, number]> = [
    ['defaults 16 kHz', DEFAULTS, 16000, 512],
    ['defaults 8 kHz', DEFAULTS, 8000, 256],
    ['max speech 3 s (splits at pauses)', { ...DEFAULTS, maxSpeechSeconds: 3 }, 16000, 512],
    ['max speech 1 s, short silence (hard cuts)', { ...DEFAULTS, maxSpeechSeconds: 1, minSilenceMs: 300 }, 16000, 512],
    ['minSilence < 2·pad (ends wait for the next start)', { ...DEFAULTS, minSilenceMs: 20, speechPadMs: 200, minSpeechMs: 50 }, 16000, 512],
    ['no min speech, wide pad', { ...DEFAULTS, minSpeechMs: 0, speechPadMs: 400, maxSpeechSeconds: 2 }, 16000, 512],
  ];
  test.each(configs)('matches get_speech_timestamps on random tracks: %s', (_name, timings, rate, w) => {
    const s = segmenterSettings(timings, rate, w);
    let compared = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const rand = seededRandom(seed);
      const windows = 50 + Math.floor(rand() * 600);
      const probs = randomTrack(rand, windows);
      // The detector analyses full windows only; a partial tail (< 1 window) just extends open speech.
      const audioLength = windows * w + Math.floor(rand() * w);
      const expected = sileroOffline(probs, audioLength, s);
      const got = stream(probs, audioLength, s);
      if (JSON.stringify(got.segments) !== JSON.stringify(expected)) {
        throw new Error(`seed ${seed}: streaming ${JSON.stringify(got.segments)} ≠ offline ${JSON.stringify(expected)}`);
      }
      expect(got.settledOk).toBe(true);
      compared += expected.length;
    }
    expect(compared).toBeGreaterThan(300);
  });

  test.each(configs)('refineBoundaries only moves edges back, at most five windows, and keeps the settled promise: %s', (_name, timings, rate, w) => {
    const plain = segmenterSettings(timings, rate, w);
    const refining = segmenterSettings({ ...timings, refineBoundaries: true }, rate, w);
    expect(refining.refineBoundaries).toBe(true);
    const pad = plain.speechPadSamples;
    let movedEnds = 0;
    let movedStarts = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const rand = seededRandom(seed);
      const windows = 50 + Math.floor(rand() * 600);
      const probs = randomTrack(rand, windows);
      // Loud where the model is sure, quiet elsewhere, and loud just before some onsets (so that windows of
      // Silero's hangover are trimmable and some late onsets extendable).
      const levels = probs.map((p, i) => Array.from({ length: 4 }, () => (p >= 0.5 || (probs[i + 1] >= 0.5 && rand() < 0.5) ? -20 : -60) + (rand() - 0.5) * 10));
      const audioLength = windows * w + Math.floor(rand() * w);
      const silero = stream(probs, audioLength, plain).segments;
      const got = stream(probs, audioLength, refining, levels);
      expect(got.settledOk).toBe(true);
      expect(got.segments).toHaveLength(silero.length);
      got.segments.forEach((g, i) => {
        expect(g.end).toBeLessThanOrEqual(silero[i].end);
        expect(g.end).toBeGreaterThanOrEqual(silero[i].end - 5 * w - pad);
        expect(g.start).toBeLessThanOrEqual(silero[i].start);
        expect(g.start).toBeGreaterThanOrEqual(silero[i].start - 5 * w - pad);
        expect(g.end).toBeGreaterThan(g.start);
        if (i > 0) expect(g.start).toBeGreaterThanOrEqual(got.segments[i - 1].end);
        if (g.end < silero[i].end) movedEnds++;
        if (g.start < silero[i].start) movedStarts++;
      });
    }
    expect(movedEnds).toBeGreaterThan(50);
    expect(movedStarts).toBeGreaterThan(50);
  });

  test('a start is announced only once speech outlasts minSpeech, and its end as soon as minSilence passed', () => {
    const s = segmenterSettings(DEFAULTS, 16000, 512);
    const seg = new SpeechSegmenter(s);
    const at: Array<{ window: number; e: VadEvent }> = [];
    const probs = [...Array(10).fill(0.1), ...Array(20).fill(0.9), ...Array(10).fill(0.1)];
    probs.forEach((p, i) => {
      const ev: VadEvent[] = [];
      seg.step(p, ev);
      for (const e of ev) at.push({ window: i, e });
    });
    // speech from window 10 (5120); 250 ms = 4000 samples → certain at window 18 (18·512 − 5120 = 4096 > 4000)
    expect(at[0]).toEqual({ window: 18, e: { type: 'speech-start', sample: 5120 - 480 } });
    // silence from window 30 (15360); 100 ms = 1600 samples → ends at window 34 (34·512 − 15360 = 2048 ≥ 1600)
    expect(at[1]).toEqual({ window: 34, e: { type: 'speech-end', startSample: 4640, endSample: 15360 + 480 } });
  });

  test('speech shorter than minSpeech is never announced', () => {
    const s = segmenterSettings(DEFAULTS, 16000, 512);
    const seg = new SpeechSegmenter(s);
    const ev: VadEvent[] = [];
    for (const p of [...Array(5).fill(0.1), ...Array(7).fill(0.9), ...Array(20).fill(0.1)]) seg.step(p, ev);
    seg.finish(32 * 512, ev);
    expect(ev).toEqual([]);
  });
});
