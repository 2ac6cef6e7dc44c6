import { TranscriptSegmenter, type TextSegment } from './segmenter.js';

const texts = (segs: TextSegment[]) => segs.map((s) => `${s.isFinal ? 'F' : 'P'}:${s.text}`);

describe('TranscriptSegmenter', () => {
  const make = () => new TranscriptSegmenter({ pauseSamples: 16000, latencySamples: 8000 });

  it('emits a growing partial per piece of text and skips pieces that change nothing visible', () => {
    const s = make();
    expect(texts(s.push('hel', 20000))).toEqual(['P:hel']);
    expect(texts(s.push('lo', 21000))).toEqual(['P:hello']);
    expect(texts(s.push(' ', 22000))).toEqual([]);
    expect(texts(s.push('world', 23000))).toEqual(['P:hello world']);
  });

  it('cuts a final at a sentence end once the next sentence begins, not inside a number', () => {
    const s = make();
    s.push('It costs 3', 10000);
    expect(texts(s.push('.', 11000))).toEqual(['P:It costs 3.']);
    expect(texts(s.push('5 euros.', 12000))).toEqual(['P:It costs 3.5 euros.']);
    expect(texts(s.push(' Next', 13000))).toEqual(['F:It costs 3.5 euros.', 'P:Next']);
    expect(texts(s.push(' one! And "quoted?" Yes', 14000))).toEqual(['F:Next one!', 'F:And "quoted?"', 'P:Yes']);
    expect(texts(s.push('。東京', 15000))).toEqual(['F:Yes。', 'P:東京']);
  });

  it('cuts a final after pauseSamples of audio without new text', () => {
    const s = make();
    s.push('hello world', 32000);
    expect(s.tick(47999)).toEqual([]);
    expect(texts(s.tick(48000))).toEqual(['F:hello world']);
    expect(s.hasPending).toBe(false);
    expect(s.tick(100000)).toEqual([]);
  });

  it('times text by the samples written when it arrived, shifted back by the latency', () => {
    const s = make();
    s.push('alpha', 24000);
    s.push(' bravo', 40000);
    s.push('.', 56000); // printed after the pause: does not stretch the end
    const [f] = s.flush();
    expect(f).toMatchObject({ text: 'alpha bravo.', startSample: 16000, endSample: 32000, isFinal: true });
    // The next segment never starts before the previous one ends.
    s.push('charlie', 20000);
    expect(s.flush()[0]).toMatchObject({ startSample: 32000, endSample: 32000 });
  });

  it('after a restart, holds re-transcribed words until they pass the committed text, then drops the repeat', () => {
    const s = make();
    s.push('hello world alpha. bravo', 30000);
    s.restart(); // "bravo" was never final: it is dropped and will be heard again
    expect(s.push('hello', 31000)).toEqual([]);
    expect(s.push(' world alpha.', 32000)).toEqual([]);
    expect(texts(s.push(' bravo', 33000))).toEqual(['P:bravo']);
    expect(texts(s.flush())).toEqual(['F:bravo']);
  });

  it('drops a repeat that starts with a garbled word (replay from mid-word)', () => {
    const s = make();
    s.push('one two three four. five', 30000);
    s.restart();
    expect(texts(s.push('ee three four. five six', 31000))).toEqual(['P:five six']);
  });

  it('keeps everything when nothing was committed before the restart', () => {
    const s = make();
    s.push('one two', 1000);
    s.restart();
    expect(texts(s.push('one two three', 2000))).toEqual(['P:one two three']);
  });

  it('forceCut finalizes up to the last word and keeps that word pending', () => {
    const s = make();
    s.push('alpha bravo charlie', 10000);
    expect(texts(s.forceCut())).toEqual(['F:alpha bravo']);
    expect(texts(s.push('.', 11000))).toEqual(['P:charlie.']);
    expect(s.forceCut()).toEqual([]);
  });
});
