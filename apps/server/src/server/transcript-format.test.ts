import { toSrt, toVtt, transcriptText, verboseJson } from './transcript-format.js';

const segs = [
  { text: ' Hello there. ', start: 0.5, end: 1.25, isFinal: true, confidence: 0.9, words: [{ word: ' Hello', start: 0.5, end: 0.8 }, { word: ' there.', start: 0.8, end: 1.25 }] },
  { text: 'Second line', start: 3725.004, end: 3727.5, isFinal: true },
];

describe('transcript formats', () => {
  it('srt and vtt with hour-long timestamps', () => {
    expect(toSrt(segs)).toBe('1\n00:00:00,500 --> 00:00:01,250\nHello there.\n\n2\n01:02:05,004 --> 01:02:07,500\nSecond line\n');
    expect(toVtt(segs)).toBe('WEBVTT\n\n00:00:00.500 --> 00:00:01.250\nHello there.\n\n01:02:05.004 --> 01:02:07.500\nSecond line\n');
  });

  it('text and verbose_json', () => {
    expect(transcriptText(segs)).toBe('Hello there. Second line');
    const v = verboseJson({ segments: segs, language: 'en', duration: 3728 }, ['word']);
    expect(v).toMatchObject({ task: 'transcribe', language: 'english', duration: 3728, text: 'Hello there. Second line' });
    expect(v.words).toEqual([{ word: 'Hello', start: 0.5, end: 0.8 }, { word: 'there.', start: 0.8, end: 1.25 }]);
    expect(v.segments).toBeUndefined();
    const both = verboseJson({ segments: segs, language: 'xx', duration: 1 }, []);
    expect((both.segments as { avg_logprob: number }[])[0].avg_logprob).toBeCloseTo(-0.2, 3);
    expect(both.language).toBe('xx');
  });
});
