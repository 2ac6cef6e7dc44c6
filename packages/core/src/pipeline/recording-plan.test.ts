/**
 * @jest-environment ../vad-silero/jest.environment.js
 */
import { SileroVadEngine } from '@echopanel/vad-silero';
import { pcmRecording } from '../audio/pcm-recording.js';
import { rms } from '@echopanel/plugin-api';
import { concatPcm, seededRandom, silence, SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import { planRecording, type RecordingPlan } from './recording-plan.js';

const RATE = 16000;
let engine: SileroVadEngine;

beforeAll(async () => {
  engine = new SileroVadEngine();
  await engine.load();
});
afterAll(() => engine.unload());

const plan = (pcm: Int16Array, removeSilenceSeconds = 2, maxPieceSeconds = 300) =>
  planRecording(pcmRecording(pcm), engine.createDetector({ sampleRate: RATE }), { removeSilenceSeconds, maxPieceSeconds });

/** Every sample is in exactly one piece span or removed range, in order. */
function expectPartition(p: RecordingPlan, total: number): void {
  const ranges = [...p.pieces.flatMap((x) => x.spans), ...p.removed].sort((a, b) => a.start - b.start);
  let at = 0;
  for (const r of ranges) {
    expect(r.start).toBe(at);
    expect(r.end).toBeGreaterThan(r.start);
    at = r.end;
  }
  expect(at).toBe(total);
  for (const piece of p.pieces) expect(piece.samples).toBe(piece.spans.reduce((n, s) => n + s.end - s.start, 0));
}

/** 10 ms frames louder than RMS 0.003 (−50 dBFS): the audible part of the audio. */
function audibleFrames(pcm: Int16Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 160 <= pcm.length; i += 160) if (rms(pcm.subarray(i, i + 160)) > 0.003) out.push(i);
  return out;
}

function expectNothingAudibleRemoved(p: RecordingPlan, pcm: Int16Array): void {
  for (const i of audibleFrames(pcm)) {
    for (const r of p.removed) expect(i + 160 <= r.start || i >= r.end).toBe(true);
  }
}

describe('planRecording (real Silero VAD)', () => {
  it('shortens a long pause to removeSilenceSeconds, half on each side, and removes no speech', async () => {
    const a = synthesizeSpeech(SPEECH_SENTENCES[0]).samples;
    const b = synthesizeSpeech(SPEECH_SENTENCES[3]).samples;
    const pcm = concatPcm(silence(0.5), a, silence(6), b, silence(0.5));
    const p = await plan(pcm);
    expectPartition(p, pcm.length);
    expectNothingAudibleRemoved(p, pcm);
    expect(p.pieces).toHaveLength(1);
    // One cut, inside the pause, with at least 1 s of it kept on each side; 6 s of pause become about 2 s.
    expect(p.removed).toHaveLength(1);
    const [r] = p.removed;
    const audible = audibleFrames(pcm);
    const lastOfA = audible.filter((i) => i < r.start).at(-1)! + 160;
    const firstOfB = audible.find((i) => i >= r.end)!;
    expect(r.start - lastOfA).toBeGreaterThanOrEqual(RATE);
    expect(firstOfB - r.end).toBeGreaterThanOrEqual(RATE);
    // What is removed is the pause less 2 s (give or take the near-silent tails of the words at its edges).
    expect(Math.abs((firstOfB - lastOfA - (r.end - r.start)) / RATE - 2)).toBeLessThan(0.25);
  });

  it('keeps pauses up to removeSilenceSeconds and everything when removal is off', async () => {
    const a = synthesizeSpeech(SPEECH_SENTENCES[1]).samples;
    const pcm = concatPcm(silence(0.3), a, silence(1.5), a, silence(0.3));
    expect((await plan(pcm)).removed).toEqual([]);
    const off = await plan(concatPcm(a, silence(8), a), 0);
    expect(off.removed).toEqual([]);
    expect(off.pieces).toEqual([{ spans: [{ start: 0, end: 2 * a.length + 8 * RATE }], samples: 2 * a.length + 8 * RATE }]);
  });

  it('does not remove speech the VAD does not hear: a whispered voice and a long held vowel', async () => {
    const whisper = synthesizeSpeech(SPEECH_SENTENCES[2], { voice: 'en-us+whisper' }).samples;
    const vowel = synthesizeSpeech('Maaaaaaaaaaaaaaaaaaaaaaaaaan', { wpm: 80 }).samples;
    const pcm = concatPcm(silence(3), whisper, silence(3), vowel, silence(3));
    const p = await plan(pcm);
    expectPartition(p, pcm.length);
    expectNothingAudibleRemoved(p, pcm);
    expect(p.removed.length).toBeGreaterThan(0);
  });

  it('removes only what stays near the noise floor in a noisy recording', async () => {
    const rand = seededRandom(3);
    const speech = synthesizeSpeech(SPEECH_SENTENCES[0]).samples;
    const pcm = concatPcm(silence(4), speech, silence(4));
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, pcm[i] + Math.round((rand() - 0.5) * 600)));
    const p = await plan(pcm);
    expectPartition(p, pcm.length);
    expect(p.removed.length).toBeGreaterThan(0);
    const speechStart = 4 * RATE;
    for (const r of p.removed) expect(r.end <= speechStart || r.start >= speechStart + speech.length).toBe(true);
  });

  it('cuts a recording longer than maxPieceSeconds into pieces at pauses, each within the limit', async () => {
    const parts: Int16Array[] = [];
    for (let i = 0; i < 12; i++) parts.push(synthesizeSpeech(SPEECH_SENTENCES[i % 4]).samples, silence(0.8));
    const pcm = concatPcm(...parts);
    const p = await plan(pcm, 2, 30);
    expectPartition(p, pcm.length);
    expect(p.pieces.length).toBeGreaterThan(1);
    for (const piece of p.pieces) expect(piece.samples).toBeLessThanOrEqual(30 * RATE);
    // Cuts land in the pauses (quiet), not inside words.
    for (const piece of p.pieces.slice(1)) {
      const at = piece.spans[0].start;
      expect(rms(pcm.subarray(at - 160, at + 160))).toBeLessThan(0.003);
    }
  });

  it('without a detector decodes everything, in pieces', async () => {
    const pcm = new Int16Array(70 * RATE);
    const p = await planRecording(pcmRecording(pcm), undefined, { removeSilenceSeconds: 2, maxPieceSeconds: 30 });
    expect(p.removed).toEqual([]);
    expect(p.pieces.map((x) => x.samples)).toEqual([30 * RATE, 30 * RATE, 10 * RATE]);
  });
});
