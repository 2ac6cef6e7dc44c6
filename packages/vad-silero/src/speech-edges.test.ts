import { levelDb, SpeechEdgeRefiner } from './speech-edges.js';

const W = 512; // 16 kHz window, four 128-sample blocks
const speech = [-20, -22, -21, -19];
const digitalSilence = [-110, -112, -111, -110];

/** Feeds windows of block levels; returns the refiner and the sample where window `markAt` starts. */
function feed(windows: number[][], markAt: number) {
  const t = new SpeechEdgeRefiner(W);
  windows.forEach((levels, i) => {
    t.observe(levels);
    if (i === markAt) t.markSilenceStart(i * W);
  });
  return { t, silenceStart: markAt * W };
}

describe('SpeechEdgeRefiner: ends', () => {
  test('moves the end back to the last block louder than the silence that follows', () => {
    // Speech stops after the 2nd block of window 3; the model still says speech for windows 4 and 5.
    const windows = [speech, speech, speech, [-20, -25, -111, -110], digitalSilence, digitalSilence, digitalSilence, digitalSilence];
    const { t, silenceStart } = feed(windows, 6);
    expect(t.refineEnd(silenceStart, 0)).toBe(3 * W + 2 * 128);
  });

  test('in steady noise, blocks within 3 dB of the floor are trimmed and louder ones kept', () => {
    const noise = [-40, -40.4, -39.7, -40.2];
    const windows = [speech, speech, [-30, -36.5, -38, -39.5], noise, noise, noise, noise];
    const { t, silenceStart } = feed(windows, 4);
    // -36.5 dB is 3.5 dB above the -40 dB floor: the last block kept.
    expect(t.refineEnd(silenceStart, 0)).toBe(2 * W + 2 * 128);
  });

  test('never trims more than five windows, nor before notBefore', () => {
    const windows = [speech, ...Array.from({ length: 8 }, () => digitalSilence)];
    const { t, silenceStart } = feed(windows, 8);
    expect(t.refineEnd(silenceStart, 0)).toBe(3 * W);
    expect(t.refineEnd(silenceStart, 5 * W + 7)).toBe(5 * W + 7);
  });

  test('leaves ends it did not mark, and ends with nothing to trim, unchanged', () => {
    const { t, silenceStart } = feed([speech, speech, speech, digitalSilence], 3);
    expect(t.refineEnd(silenceStart + W, 0)).toBe(silenceStart + W);
    expect(t.refineEnd(silenceStart, 0)).toBe(silenceStart);
    // Nothing observed: nothing to go on.
    const blank = new SpeechEdgeRefiner(W);
    blank.markSilenceStart(0);
    expect(blank.refineEnd(0, 0)).toBe(0);
  });

  test('a later silence start replaces an earlier one; reset forgets everything', () => {
    const windows = [speech, digitalSilence, speech, speech, [-20, -111, -111, -111], digitalSilence, digitalSilence];
    const t = new SpeechEdgeRefiner(W);
    windows.forEach((levels, i) => {
      t.observe(levels);
      if (i === 1 || i === 5) t.markSilenceStart(i * W);
    });
    expect(t.refineEnd(W, 0)).toBe(W); // superseded mark
    expect(t.refineEnd(5 * W, 0)).toBe(4 * W + 128);
    t.reset();
    expect(t.refineEnd(5 * W, 0)).toBe(5 * W);
  });
});

describe('SpeechEdgeRefiner: starts', () => {
  /** Observes the windows; the last one is where Silero's probability crossed the threshold. */
  function startOf(windows: number[][], notBefore = 0) {
    const t = new SpeechEdgeRefiner(W);
    for (const levels of windows) t.observe(levels);
    return t.refineStart((windows.length - 1) * W, notBefore);
  }

  test('moves the start back over the blocks louder than the silence before them', () => {
    // Floor windows, then an onset in the 3rd block of window 7 that the model only calls speech at window 9.
    const windows = [...Array(7).fill(digitalSilence), [-111, -110, -45, -40], [-35, -30, -28, -25], speech];
    expect(startOf(windows)).toBe(7 * W + 2 * 128);
  });

  test('ignores ripple around digital silence (below −70 dBFS) and noise within 3 dB of the floor', () => {
    const ripple = [-85, -80, -90, -82];
    expect(startOf([...Array(6).fill(digitalSilence), ripple, ripple, [-80, -75, -30, -25], speech])).toBe(8 * W + 2 * 128);
    const noise = [-40, -40.4, -39.7, -40.2];
    expect(startOf([...Array(6).fill(noise), noise, [-39, -38, -36, -30], speech])).toBe(7 * W + 2 * 128);
  });

  test('at most five windows back, never before notBefore, and not without a floor to compare with', () => {
    const loud = [-30, -30, -30, -30];
    expect(startOf([...Array(5).fill(digitalSilence), ...Array(7).fill(loud), speech])).toBe(7 * W);
    expect(startOf([...Array(7).fill(digitalSilence), loud, loud, speech], 8 * W + 5)).toBe(8 * W + 5);
    expect(startOf([loud, speech])).toBe(W); // nothing before the candidate to measure the floor on
    expect(startOf([speech])).toBe(0);
  });
});

describe('levelDb', () => {
  test('is the mean-square level in dBFS', () => {
    expect(levelDb(new Float32Array(128).fill(0.5), 0, 128)).toBeCloseTo(-6.02, 2);
    expect(levelDb(new Float32Array(128), 0, 128)).toBe(-120);
    const x = new Float32Array(256);
    x.fill(1, 128);
    expect(levelDb(x, 0, 128)).toBe(-120);
    expect(levelDb(x, 128, 256)).toBeCloseTo(0, 6);
  });
});
