import type { Segment } from '@echopanel/plugin-api';
import { SPEECH_SENTENCES, synthesizeSpeech, TranscriptPool } from '@echopanel/plugin-testkit';
import { makeProvider } from './__fixtures__/test-context.js';

const VOICES = ['en-us', 'en-gb', 'en-us+f3'] as const;
/** 12 utterances, 3 voices × the 4 sentences (150 words). */
const utterances = VOICES.flatMap((voice) => SPEECH_SENTENCES.map((t) => ({ text: t, pcm: synthesizeSpeech(t, { voice, padSeconds: 0.3 }).samples })));
const text = (segments: readonly Segment[]) => segments.map((s) => s.text).join(' ');
/** Drafts (one pass at temperature 0) measured 8.7 % pooled here. */
const POOLED_WER_BOUND = 0.2;

describe('drafts (DecodeOptions.draft: a partial its final replaces)', () => {
  const provider = makeProvider({ computeType: 'int8', parallelDecodes: 1 });
  afterAll(() => provider.unload());

  it('decodes drafts into the sentences, batched or alone with the same words', async () => {
    const opts = { sampleRate: 16000, draft: true } as const;
    const alone: string[] = [];
    for (const u of utterances) alone.push(text(await provider.decode(u.pcm, opts)));
    const batched = await provider.decodeBatch(utterances.map((u) => ({ pcm: u.pcm, opts })));
    expect(batched.map(text)).toEqual(alone);
    const pool = new TranscriptPool();
    // One pass without the fallback can miss a sentence a final would get ("…jump, so we're not any dark"): pooled only.
    alone.forEach((t, i) => pool.heard(utterances[i].text, t));
    const pooled = pool.pooled();
    expect(pooled.referenceWords).toBeGreaterThanOrEqual(40);
    expect(pooled.wer).toBeLessThan(POOLED_WER_BOUND);
  }, 180000);
});
