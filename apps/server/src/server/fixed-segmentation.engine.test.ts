/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// Fixed segmentation on the real engine: what a stream gets when the degrade ladder has turned the VAD off
// (DEGRADE) and made chunks longer (WARNING). Chunks used to be cut blindly every chunkSeconds; whisper garbles or
// drops the words a cut splits, so a sentence came back broken or partly missing with nothing dropped or reported.
import { StreamSession, type ASRProvider, type Segment } from '@echopanel/core';
import { concatPcm, silence, SPEECH_SENTENCES, synthesizeSpeech, TranscriptPool } from '@echopanel/plugin-testkit';
import { realFasterWhisper } from './__fixtures__/real-engine.js';

const RATE = 16000;
const PAUSE_SECONDS = 1.2;
/** Pooled over both runs' 98 words (measured 16-18 %). */
const POOLED_WER_BOUND = 0.4;

const pool = new TranscriptPool();
let provider: ASRProvider;

beforeAll(async () => {
  provider = await realFasterWhisper();
  await provider.load();
}, 180000);
afterAll(() => provider?.unload());

/** The test sentences after `lead` seconds of silence, 1.2 s apart; where each sentence is (samples). */
function speech(lead: number): { pcm: Int16Array; spans: { start: number; end: number; text: string }[] } {
  const parts: Int16Array[] = [silence(lead)];
  const spans: { start: number; end: number; text: string }[] = [];
  let at = Math.round(lead * RATE);
  for (const text of SPEECH_SENTENCES) {
    const s = synthesizeSpeech(text).samples;
    spans.push({ start: at, end: at + s.length, text });
    parts.push(s, silence(PAUSE_SECONDS));
    at += s.length + Math.round(PAUSE_SECONDS * RATE);
  }
  parts.push(silence(2));
  return { pcm: concatPcm(...parts), spans };
}

// Each pair: a chunk length the ladder sets (4 s + its steps, at most 8 s) and a lead at which blind cuts
// fell inside sentences (measured before the fix: "We will meet." | "at the station …", and one final holding
// the first sentence and half of the second).
it.each([
  [6, 1.5],
  [8, 0.5],
])('%d s chunks (lead %d s): every sentence comes back whole, in finals that stay within its pauses', async (chunkSeconds, lead) => {
  await provider.tune!({ chunkSeconds });
  const { pcm, spans } = speech(lead);
  const finals: Segment[] = [];
  const session = new StreamSession({
    provider,
    segmentation: 'fixed',
    language: 'en',
    onEvent: (e) => {
      if (e.type === 'final') finals.push(e.segment);
    },
  });
  for (let i = 0; i < pcm.length; i += 1600) session.push(pcm.subarray(i, i + 1600));
  const stats = await session.end();
  expect(stats.droppedSamples).toBe(0);
  expect(stats.transcribedSamples + stats.silenceSamples).toBe(pcm.length);
  spans.forEach((span, i) => {
    const mine = finals.filter((f) => f.start * RATE < span.end && f.end * RATE > span.start);
    expect(mine.length).toBeGreaterThan(0);
    // Not cut into: every final of this sentence starts and ends in the pauses around it, not in a neighbour.
    const from = i === 0 ? 0 : spans[i - 1].end;
    const to = i === spans.length - 1 ? pcm.length : spans[i + 1].start;
    for (const f of mine) {
      expect(f.start * RATE).toBeGreaterThanOrEqual(from);
      expect(f.end * RATE).toBeLessThanOrEqual(to);
    }
    pool.heard(span.text, mine.map((f) => f.text).join(' '));
  });
}, 180000);

it('pooled WER of the sentences stays recognizable', () => {
  const pooled = pool.pooled();
  expect(pooled.referenceWords).toBeGreaterThanOrEqual(40);
  expect(pooled.wer).toBeLessThan(POOLED_WER_BOUND);
});
