/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// Several live streams on one real engine through the host's decode scheduler (measureProvider), as the server
// runs them: every stream gets its own words back, every sample is accounted, the scheduler reports its work.
import { MeasuredProvider, StreamSession, type ASRProvider, type HostProvider, type StreamEvent } from '@echopanel/core';
import { concatPcm, RECOGNIZABLE_WER, silence, SPEECH_SENTENCES, synthesizeSpeech, TranscriptPool } from '@echopanel/plugin-testkit';
import type { SileroVadEngine } from '@echopanel/vad-silero';
import { warmFasterWhisperAndSilero } from './__fixtures__/real-engine.js';

const VOICES = ['en-us', 'en-gb', 'en-us+f3', 'en-us+m3'] as const;
/** Pooled over the 4 streams × 2 sentences (100 words); measured 18 % (batching on and off alike: the voice variants). */
const POOLED_WER_BOUND = 0.4;
/** Each case's finals per stream, compared by the last test. */
const finalsBy = new Map<string, string[]>();

let provider: ASRProvider;
let vad: SileroVadEngine;

beforeAll(async () => {
  [provider, vad] = await warmFasterWhisperAndSilero();
}, 180000);
afterAll(async () => {
  await provider?.unload();
  await vad?.unload();
});

/** Stream i speaks two sentences in its own voice; all streams push their audio at once (faster than real time). */
async function runStreams(engine: HostProvider): Promise<{ references: string[]; heard: string[]; events: StreamEvent[][] }> {
  const references: string[] = [];
  const pcms = VOICES.map((voice, i) => {
    const a = SPEECH_SENTENCES[i % SPEECH_SENTENCES.length];
    const b = SPEECH_SENTENCES[(i + 1) % SPEECH_SENTENCES.length];
    references.push(`${a} ${b}`);
    return concatPcm(silence(0.5), synthesizeSpeech(a, { voice }).samples, silence(1.2), synthesizeSpeech(b, { voice }).samples, silence(1));
  });
  const events: StreamEvent[][] = VOICES.map(() => []);
  const sessions = pcms.map(
    (_, i) =>
      new StreamSession({
        provider: engine,
        detector: vad.createDetector({ sampleRate: 16000 }),
        language: 'en',
        partialIntervalSeconds: 0.5,
        onEvent: (e) => events[i].push(e),
      }),
  );
  sessions.forEach((s, i) => {
    for (let at = 0; at < pcms[i].length; at += 1600) s.push(pcms[i].subarray(at, Math.min(pcms[i].length, at + 1600)));
  });
  const stats = await Promise.all(sessions.map((s) => s.end()));
  stats.forEach((st, i) => {
    expect(st.receivedSamples).toBe(pcms[i].length);
    expect(st.transcribedSamples + st.silenceSamples + st.droppedSamples).toBe(pcms[i].length);
    expect(st.droppedSamples).toBe(0);
  });
  const heard = events.map((evs) => evs.flatMap((e) => (e.type === 'final' ? [e.segment.text] : [])).join(' '));
  return { references, heard, events };
}

describe('streams sharing one engine (decode scheduler)', () => {
  it.each([
    ['batching on', { batching: true }],
    ['batching off', { batching: false }],
  ])('%s: each stream gets its own words, nothing dropped, the scheduler accounts for every call', async (name, scheduler) => {
    // What measureProvider makes for the server, with this case's settings.
    const engine = new MeasuredProvider(provider, { scheduler });
    const pool = new TranscriptPool();
    const { references, heard } = await runStreams(engine);
    finalsBy.set(name, heard);
    references.forEach((ref, i) => expect(pool.heard(ref, heard[i])).toBeLessThan(RECOGNIZABLE_WER));
    const pooled = pool.pooled();
    expect(pooled.referenceWords).toBeGreaterThanOrEqual(40);
    expect(pooled.wer).toBeLessThan(POOLED_WER_BOUND);
    const s = engine.health().scheduler!;
    expect(s.waitMs.final.count).toBeGreaterThanOrEqual(VOICES.length * 2);
    const carried = Object.entries(s.batchSizes).reduce((n, [size, calls]) => n + Number(size) * calls, 0);
    expect(carried).toBe(s.items);
    expect(s.queued).toBe(0);
    if (scheduler.batching) {
      // faster-whisper takes batches, and four streams' utterances arrive together: some call carried several.
      expect(provider.capabilities.maxBatchSize).toBeGreaterThan(1);
      expect(Object.keys(s.batchSizes).some((size) => Number(size) > 1)).toBe(true);
    } else {
      expect(Object.keys(s.batchSizes)).toEqual(['1']);
    }
  }, 300000);

  it('batched decoding gives every stream the same words as decoding its utterances one by one', () => {
    expect(finalsBy.get('batching on')).toHaveLength(VOICES.length);
    expect(finalsBy.get('batching on')).toEqual(finalsBy.get('batching off'));
  });
});
