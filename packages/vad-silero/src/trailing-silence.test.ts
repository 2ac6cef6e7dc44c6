import { levelDb, TrailingSilenceTrimmer } from './trailing-silence.js';

const W = 512; // 16 kHz window, four 128-sample blocks
const speech = [-20, -22, -21, -19];
const digitalSilence = [-110, -112, -111, -110];

/** Feeds windows of block levels; returns the trimmer and the sample where window `markAt` starts. */
function feed(windows: number[][], markAt: number) {
  const t = new TrailingSilenceTrimmer(W);
  windows.forEach((levels, i) => {
    t.observe(levels);
    if (i === markAt) t.markSilenceStart(i * W);
  });
  return { t, silenceStart: markAt * W };
}

describe('TrailingSilenceTrimmer', () => {
  test('moves the end back to the last block louder than the silence that follows', () => {
    // Speech stops after the 2nd block of window 3; the model still says speech for windows 4 and 5.
    const windows = [speech, speech, speech, [-20, -25, -111, -110], digitalSilence, digitalSilence, digitalSilence, digitalSilence];
    const { t, silenceStart } = feed(windows, 6);
    expect(t.refine(silenceStart, 0)).toBe(3 * W + 2 * 128);
  });

  test('in steady noise, blocks within 3 dB of the floor are trimmed and louder ones kept', () => {
    const noise = [-40, -40.4, -39.7, -40.2];
    const windows = [speech, speech, [-30, -36.5, -38, -39.5], noise, noise, noise, noise];
    const { t, silenceStart } = feed(windows, 4);
    // -36.5 dB is 3.5 dB above the -40 dB floor: the last block kept.
    expect(t.refine(silenceStart, 0)).toBe(2 * W + 2 * 128);
  });

  test('never trims more than five windows, nor before notBefore', () => {
    const windows = [speech, ...Array.from({ length: 8 }, () => digitalSilence)];
    const { t, silenceStart } = feed(windows, 8);
    expect(t.refine(silenceStart, 0)).toBe(3 * W);
    expect(t.refine(silenceStart, 5 * W + 7)).toBe(5 * W + 7);
  });

  test('leaves ends it did not mark, and ends with nothing to trim, unchanged', () => {
    const { t, silenceStart } = feed([speech, speech, speech, digitalSilence], 3);
    expect(t.refine(silenceStart + W, 0)).toBe(silenceStart + W);
    expect(t.refine(silenceStart, 0)).toBe(silenceStart);
    // Nothing observed: nothing to go on.
    const blank = new TrailingSilenceTrimmer(W);
    blank.markSilenceStart(0);
    expect(blank.refine(0, 0)).toBe(0);
  });

  test('a later silence start replaces an earlier one; reset forgets everything', () => {
    const windows = [speech, digitalSilence, speech, speech, [-20, -111, -111, -111], digitalSilence, digitalSilence];
    const t = new TrailingSilenceTrimmer(W);
    windows.forEach((levels, i) => {
      t.observe(levels);
      if (i === 1 || i === 5) t.markSilenceStart(i * W);
    });
    expect(t.refine(W, 0)).toBe(W); // superseded mark
    expect(t.refine(5 * W, 0)).toBe(4 * W + 128);
    t.reset();
    expect(t.refine(5 * W, 0)).toBe(5 * W);
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
