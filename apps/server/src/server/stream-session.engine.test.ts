/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// The core pipeline (StreamSession) end to end on the real engine: Silero VAD + faster-whisper tiny.en.
// It lives here, not in core, because core must not depend on the provider packages.
import { StreamSession, type ASRProvider, type StreamEvent, type StreamSessionOptions } from '@echopanel/core';
import {
  concatPcm,
  RECOGNIZABLE_WER,
  silence,
  SPEECH_SENTENCES,
  synthesizeSpeech,
  TranscriptPool,
  wordErrorRate,
} from '@echopanel/plugin-testkit';
import type { SileroVadEngine } from '@echopanel/vad-silero';
import { realWhisperCpp, standinTones, standinVoxtral, warmFasterWhisperAndSilero } from './__fixtures__/real-engine.js';

/** Every final text below, bounded pooled by the last test (measured 8.0 % over 87 words); each one only loosely. */
const transcripts = new TranscriptPool();
const POOLED_WER_BOUND = 0.2;

let provider: ASRProvider;
let vad: SileroVadEngine;

beforeAll(async () => {
  [provider, vad] = await warmFasterWhisperAndSilero();
}, 180000);
afterAll(async () => {
  await provider?.unload();
  await vad?.unload();
});

function run(options: Partial<StreamSessionOptions>): { session: StreamSession; events: StreamEvent[] } {
  const events: StreamEvent[] = [];
  const session = new StreamSession({
    provider,
    detector: vad.createDetector({ sampleRate: 16000 }),
    language: 'en',
    source: 'mic',
    ...options,
    onEvent: (e) => events.push(e),
  });
  return { session, events };
}

function pushAll(session: StreamSession, pcm: Int16Array, frame = 1600): void {
  for (let i = 0; i < pcm.length; i += frame) session.push(pcm.subarray(i, Math.min(pcm.length, i + frame)));
}

const finalsText = (events: StreamEvent[]) =>
  events.flatMap((e) => (e.type === 'final' ? [e.segment.text] : [])).join(' ');

function expectAccounted(stats: { receivedSamples: number; transcribedSamples: number; silenceSamples: number; droppedSamples: number; pendingSamples: number }, received: number): void {
  expect(stats.receivedSamples).toBe(received);
  expect(stats.pendingSamples).toBe(0);
  expect(stats.transcribedSamples + stats.silenceSamples + stats.droppedSamples).toBe(received);
}

describe('StreamSession on the real engine', () => {
  it('vad mode: cuts at the pause, finals match the spoken text, every sample accounted', async () => {
    const a = synthesizeSpeech(SPEECH_SENTENCES[0]).samples;
    const b = synthesizeSpeech(SPEECH_SENTENCES[2]).samples;
    const pcm = concatPcm(silence(1), a, silence(1.5), b, silence(1));
    const { session, events } = run({ segmentation: 'vad' });
    expect(session.mode).toBe('vad');
    pushAll(session, pcm);
    const stats = await session.end();
    expect(events[events.length - 1]).toEqual({ type: 'done', stats });
    const finals = events.filter((e) => e.type === 'final');
    expect(finals.length).toBeGreaterThanOrEqual(2);
    const reference = `${SPEECH_SENTENCES[0]} ${SPEECH_SENTENCES[2]}`;
    expect(transcripts.heard(reference, finalsText(events))).toBeLessThan(RECOGNIZABLE_WER);
    // Times are stream times: the second sentence's final starts after the pause began.
    const second = finals[finals.length - 1];
    expect(second.type === 'final' && second.segment.start).toBeGreaterThan((16000 + a.length) / 16000 - 0.1);
    for (const f of finals) expect(f.type === 'final' && f.segment.source).toBe('mic');
    expectAccounted(stats, pcm.length);
    expect(stats.silenceSamples).toBeGreaterThan(2 * 16000);
    expect(stats.droppedSamples).toBe(0);
  });

  it('vad mode: a pause shorter than the endpoint silence stays inside the utterance, a longer one ends it', async () => {
    const a = synthesizeSpeech(SPEECH_SENTENCES[0]).samples;
    const b = synthesizeSpeech(SPEECH_SENTENCES[2]).samples;
    // Utterances with finals (one utterance may come back as several of whisper's segments).
    const utterances = async (gap: number) => {
      const { session, events } = run({ segmentation: 'vad', partialIntervalSeconds: 0, endpointSilenceSeconds: 0.5 });
      const pcm = concatPcm(silence(0.5), a, silence(gap), b, silence(1));
      pushAll(session, pcm);
      expectAccounted(await session.end(), pcm.length);
      return new Set(events.flatMap((e) => (e.type === 'final' ? [e.turn] : []))).size;
    };
    // espeak ends its sentences with 0.35 s of its own silence: back to back, that is the pause.
    expect(await utterances(0)).toBe(1);
    expect(await utterances(1.2)).toBe(2);
  });

  it('vad mode: the final of an utterance reuses its decode-ahead from the start of the pause (one decode each)', async () => {
    const pcm = concatPcm(silence(0.5), ...[0, 1, 2].map((i) => concatPcm(synthesizeSpeech(SPEECH_SENTENCES[i]).samples, silence(1.2))));
    const decodes: number[] = [];
    const { session, events } = run({ segmentation: 'vad', partialIntervalSeconds: 0, onDecode: (_, seconds) => decodes.push(seconds) });
    // Real-time-like arrival: the engine is idle when each pause starts, so it decodes ahead then.
    for (let i = 0; i < pcm.length; i += 1600) {
      session.push(pcm.subarray(i, Math.min(pcm.length, i + 1600)));
      await new Promise((r) => setTimeout(r, 20));
    }
    await session.end();
    expect(events.filter((e) => e.type === 'final')).toHaveLength(3);
    expect(decodes).toHaveLength(3);
  });

  it('vad mode: a decode-ahead of a pause the speaker talks through becomes a partial (partial re-decodes off)', async () => {
    const pcm = concatPcm(silence(0.5), synthesizeSpeech(SPEECH_SENTENCES[0]).samples, silence(1.2), synthesizeSpeech(SPEECH_SENTENCES[2]).samples, silence(0.5));
    const { session, events } = run({ segmentation: 'vad', partialIntervalSeconds: 0, endpointSilenceSeconds: 3 });
    for (let i = 0; i < pcm.length; i += 1600) {
      session.push(pcm.subarray(i, Math.min(pcm.length, i + 1600)));
      await new Promise((r) => setTimeout(r, 20));
    }
    // The utterance stays open (3 s endpoint) until end(): give a slow machine's decode-ahead time to come back.
    for (let waited = 0; waited < 60000 && !events.some((e) => e.type === 'partial'); waited += 100) await new Promise((r) => setTimeout(r, 100));
    await session.end();
    expect(events.filter((e) => e.type === 'final').length).toBeGreaterThanOrEqual(1);
    const partials = events.filter((e) => e.type === 'partial');
    expect(partials.length).toBeGreaterThanOrEqual(1);
    expect(wordErrorRate(SPEECH_SENTENCES[0], partials[0].type === 'partial' ? partials[0].text : '').wer).toBeLessThan(RECOGNIZABLE_WER);
  });

  it('vad mode: a decode-ahead that came back before the speaker resumed still becomes a partial when they do', async () => {
    const a = synthesizeSpeech(SPEECH_SENTENCES[0]).samples;
    const head = concatPcm(silence(0.5), a, silence(1.2));
    const tail = concatPcm(synthesizeSpeech(SPEECH_SENTENCES[2]).samples, silence(0.5));
    const decodes: number[] = [];
    const { session, events } = run({ segmentation: 'vad', partialIntervalSeconds: 0, endpointSilenceSeconds: 3, onDecode: (_, s) => decodes.push(s) });
    pushAll(session, head);
    // The engine is done with the pause's decode-ahead while the pause still holds …
    for (let waited = 0; waited < 60000 && decodes.length === 0; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(decodes).toHaveLength(1);
    expect(events.some((e) => e.type === 'partial')).toBe(false);
    // … then speech goes on: what was decoded is the utterance so far, a partial (re-decodes are off, so it is
    // that decode's text, shown without another one).
    pushAll(session, tail.subarray(0, 16000));
    for (let waited = 0; waited < 60000 && !events.some((e) => e.type === 'partial'); waited += 50) await new Promise((r) => setTimeout(r, 50));
    const partial = events.find((e) => e.type === 'partial');
    expect(partial).toBeDefined();
    expect(decodes).toHaveLength(1);
    expect(transcripts.heard(SPEECH_SENTENCES[0], partial?.type === 'partial' ? partial.text : '')).toBeLessThan(RECOGNIZABLE_WER);
    pushAll(session, tail.subarray(16000));
    await session.end();
  });

  it('vad mode: partials of the growing utterance keep a stable prefix, then the final', async () => {
    // Two sentences in one utterance (a long minimum silence keeps them together).
    const reference = `${SPEECH_SENTENCES[3]} ${SPEECH_SENTENCES[2]}`;
    const pcm = concatPcm(silence(0.5), synthesizeSpeech(reference).samples, silence(1.8));
    const { session, events } = run({
      segmentation: 'vad',
      partialIntervalSeconds: 1,
      detector: vad.createDetector({ sampleRate: 16000, minSilenceMs: 1500 }),
    });
    // Paced by the engine rather than the wall clock (the machine is shared): after each 2 s of audio, wait for
    // the partial that the idle decoder re-decodes, as a client streaming in real time on a fast machine sees.
    const step = 2 * 16000;
    for (let i = 0; i < pcm.length; i += step) {
      const before = events.filter((e) => e.type === 'partial').length;
      pushAll(session, pcm.subarray(i, Math.min(pcm.length, i + step)));
      const deadline = Date.now() + 60000;
      while (events.filter((e) => e.type === 'partial').length === before && Date.now() < deadline && i + step < pcm.length - 2 * 16000) {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const stats = await session.end();
    const partials = events.filter((e): e is Extract<StreamEvent, { type: 'partial' }> => e.type === 'partial');
    expect(partials.length).toBeGreaterThanOrEqual(2);
    // Stable text only grows and is a prefix of the text shown with it.
    for (let i = 1; i < partials.length; i++) {
      expect(partials[i].stable.length).toBeGreaterThanOrEqual(partials[i - 1].stable.length);
      expect(partials[i].text.startsWith(partials[i].stable)).toBe(true);
      expect(partials[i].end).toBeGreaterThan(partials[i - 1].end);
    }
    // tiny.en rewrites early words as the context grows; at least the agreed part is non-empty by the end.
    expect(partials[partials.length - 1].stable.length).toBeGreaterThan(0);
    // Partials come before the final of their utterance, and the final is the whole text.
    const firstFinal = events.findIndex((e) => e.type === 'final');
    expect(events.findIndex((e) => e.type === 'partial')).toBeLessThan(firstFinal);
    expect(transcripts.heard(reference, finalsText(events))).toBeLessThan(RECOGNIZABLE_WER);
    expectAccounted(stats, pcm.length);
  });

  it('fixed mode: the provider chunks the stream itself; same text, same accounting', async () => {
    const pcm = concatPcm(synthesizeSpeech(SPEECH_SENTENCES[3]).samples, silence(2));
    const { session, events } = run({ segmentation: 'fixed' });
    expect(session.mode).toBe('fixed');
    pushAll(session, pcm, 3200);
    const stats = await session.end();
    expect(transcripts.heard(SPEECH_SENTENCES[3], finalsText(events))).toBeLessThan(RECOGNIZABLE_WER);
    expectAccounted(stats, pcm.length);
    expect(stats.silenceSamples).toBeGreaterThan(0);
  });

  it('a stream the engine cannot keep up with drops the oldest audio, counted, and says so', async () => {
    const sentences = SPEECH_SENTENCES.map((s) => concatPcm(synthesizeSpeech(s).samples, silence(0.6)));
    const pcm = concatPcm(...sentences, ...sentences);
    const { session, events } = run({ segmentation: 'vad', maxBacklogSeconds: 3, partialIntervalSeconds: 0 });
    pushAll(session, pcm);
    const stats = await session.end();
    expectAccounted(stats, pcm.length);
    expect(stats.droppedSamples).toBeGreaterThan(0);
    expect(stats.dropReasons.backlog).toBe(stats.droppedSamples);
    expect(events.some((e) => e.type === 'status' && e.dropping)).toBe(true);
    // What was kept was still transcribed.
    expect(events.some((e) => e.type === 'final')).toBe(true);
    expect(stats.transcribedSamples).toBeGreaterThan(0);
    // Every turn still ends; one whose audio was dropped says so.
    const ended = events.flatMap((e) => (e.type === 'turn-end' ? [e.turn] : []));
    const done = events.flatMap((e) => (e.type === 'turn-done' ? [e] : []));
    expect(done.map((e) => e.turn)).toEqual(ended);
    for (const d of done) if (d.failure) expect(d.failure.code).toBe('AUDIO_DROPPED');
  });

  it('client turn detection: only commit() ends a turn (not the pause); clear() drops the open turn, counted', async () => {
    const speech = (i: number) => synthesizeSpeech(SPEECH_SENTENCES[i]).samples;
    const { session, events } = run({ segmentation: 'vad', turnDetection: 'client' });
    const parts = [concatPcm(silence(0.3), speech(0), silence(1.2), speech(3), silence(0.3)), concatPcm(speech(1), silence(0.3)), concatPcm(speech(2), silence(0.3))];
    pushAll(session, parts[0]);
    session.commit();
    pushAll(session, parts[1]);
    session.clear();
    pushAll(session, parts[2]);
    session.commit();
    const stats = await session.end();
    expectAccounted(stats, parts[0].length + parts[1].length + parts[2].length);
    expect(stats.dropReasons.cleared).toBeGreaterThan(0);
    const turnEnds = events.filter((e) => e.type === 'turn-end');
    expect(turnEnds.map((e) => e.turn)).toEqual([1, 3]);
    expect(turnEnds[0]).toMatchObject({ start: 0, end: parts[0].length / 16000 });
    expect(events.filter((e) => e.type === 'cleared').map((e) => e.turn)).toEqual([2]);
    expect(events.filter((e) => e.type === 'turn-done').map((e) => e.turn)).toEqual([1, 3]);
    const textOf = (turn: number) => events.flatMap((e) => (e.type === 'final' && e.turn === turn ? [e.segment.text] : [])).join(' ');
    expect(transcripts.heard(`${SPEECH_SENTENCES[0]} ${SPEECH_SENTENCES[3]}`, textOf(1))).toBeLessThan(RECOGNIZABLE_WER);
    expect(transcripts.heard(SPEECH_SENTENCES[2], textOf(3))).toBeLessThan(RECOGNIZABLE_WER);
    expect(textOf(2)).toBe('');
  });

  it('abort mid-stream: what was not decoded is dropped with the reason, and done still comes', async () => {
    const pcm = concatPcm(...SPEECH_SENTENCES.map((s) => concatPcm(synthesizeSpeech(s).samples, silence(0.6))));
    const { session, events } = run({ segmentation: 'vad' });
    pushAll(session, pcm);
    await new Promise((r) => setTimeout(r, 300));
    const stats = await session.abort('client disconnected');
    expectAccounted(stats, pcm.length);
    expect(stats.dropReasons['client disconnected']).toBeGreaterThan(0);
    expect(events[events.length - 1].type).toBe('done');
    expect(() => session.push(new Int16Array(10))).toThrow(/after the stream was stopped/);
  });
});

describe('StreamSession on other engines', () => {
  it('whisper.cpp (real, in-process): vad mode through its decode', async () => {
    const cpp = await realWhisperCpp();
    try {
      await cpp.load();
      const pcm = concatPcm(silence(0.5), synthesizeSpeech(SPEECH_SENTENCES[2]).samples, silence(1), synthesizeSpeech(SPEECH_SENTENCES[3]).samples, silence(0.8));
      const events: StreamEvent[] = [];
      const session = new StreamSession({ provider: cpp, detector: vad.createDetector({ sampleRate: 16000 }), onEvent: (e) => events.push(e) });
      expect(session.mode).toBe('vad');
      pushAll(session, pcm);
      const stats = await session.end();
      expect(transcripts.heard(`${SPEECH_SENTENCES[2]} ${SPEECH_SENTENCES[3]}`, finalsText(events))).toBeLessThan(RECOGNIZABLE_WER);
      expectAccounted(stats, pcm.length);
    } finally {
      await cpp.unload();
    }
  });

  it('a provider without decode (voxtral, on its stand-in) streams through its own transcribe, accounted the same', async () => {
    const vox = await standinVoxtral();
    try {
      expect(vox.capabilities.decode).toBeFalsy();
      const words = ['hello', 'world', 'alpha', 'bravo', 'charlie', 'delta'];
      const pcm = standinTones(words);
      const events: StreamEvent[] = [];
      const session = new StreamSession({ provider: vox, detector: vad.createDetector({ sampleRate: 16000 }), segmentation: 'vad', onEvent: (e) => events.push(e) });
      expect(session.mode).toBe('fixed');
      pushAll(session, pcm);
      const stats = await session.end();
      expect(finalsText(events).toLowerCase().replace(/[^a-z ]/g, '').split(/\s+/).filter(Boolean)).toEqual(words);
      expectAccounted(stats, pcm.length);
    } finally {
      await vox.unload();
    }
  });
});

describe('accuracy over the whole file', () => {
  it(`pools every final text above: WER ≤ ${POOLED_WER_BOUND * 100} % over more than 80 words`, () => {
    const pooled = transcripts.pooled();
    expect(pooled.referenceWords).toBeGreaterThan(80);
    expect(pooled.wer).toBeLessThanOrEqual(POOLED_WER_BOUND);
  });
});
