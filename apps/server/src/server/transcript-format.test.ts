import { verboseJson } from './transcript-format.js';

const segs = [
  { text: ' Hello there. ', start: 0.5, end: 1.25, isFinal: true, confidence: 0.9, words: [{ word: ' Hello', start: 0.5, end: 0.8 }, { word: ' there.', start: 0.8, end: 1.25 }] },
  { text: 'Second line', start: 3725.004, end: 3727.5, isFinal: true },
];

describe('transcript formats', () => {
  it('verbose_json', () => {
    const v = verboseJson({ segments: segs, language: 'en', duration: 3728 }, ['word']);
    expect(v).toMatchObject({ task: 'transcribe', language: 'english', duration: 3728, text: 'Hello there. Second line' });
    expect(v.words).toEqual([{ word: 'Hello', start: 0.5, end: 0.8 }, { word: 'there.', start: 0.8, end: 1.25 }]);
    expect(v.segments).toBeUndefined();
    const both = verboseJson({ segments: segs, language: 'xx', duration: 1 }, []);
    expect((both.segments as { avg_logprob: number }[])[0].avg_logprob).toBeCloseTo(-0.2, 3);
    expect(both.language).toBe('xx');
  });
});
