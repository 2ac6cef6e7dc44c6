import { StreamResampler, resample } from './stream-resampler.js';

const RATES = [8000, 22050, 44100, 48000, 96000];
const FRAMES = [1, 128, 1000, 4096];

function tone(hz: number, rate: number, n: number, amp = 0.5): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * 32767 * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

async function streamed(pcm: Int16Array | Float32Array, from: number, frame: number): Promise<Int16Array> {
  const parts: Int16Array[] = [];
  const r = new StreamResampler(from, 16000, (p) => parts.push(p));
  for (let i = 0; i < pcm.length; i += frame) r.push(pcm.subarray(i, i + frame));
  await r.end();
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  expect(r.delivered).toBe(out.length);
  return out;
}

/** Level of `x` relative to a full-scale sine, in dB, over the middle (edges hold the filter's ramp). */
function rmsDb(x: Int16Array): number {
  const mid = x.subarray(Math.floor(x.length * 0.1), Math.floor(x.length * 0.9));
  let s = 0;
  for (const v of mid) s += (v / 32768) ** 2;
  return 10 * Math.log10(s / mid.length / 0.5);
}

describe('StreamResampler', () => {
  it.each(RATES)('%i Hz: round(input × 16000 / rate) samples for frames of 1, 128, 1000 and 4096, the same samples as one push', async (rate) => {
    // A length that is not a whole number of output samples.
    const n = Math.round(1.3377 * rate);
    const pcm = tone(440, rate, n);
    const whole = await streamed(pcm, rate, n);
    expect(whole.length).toBe(Math.round((n * 16000) / rate));
    for (const frame of FRAMES) {
      const out = await streamed(pcm, rate, frame);
      expect([frame, out.length]).toEqual([frame, whole.length]);
      let maxDiff = 0;
      for (let i = 0; i < out.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - whole[i]));
      expect([frame, maxDiff <= 1]).toEqual([frame, true]);
    }
  });

  it('keeps the speech band and removes what would alias (linear interpolation folds 10 kHz to 6 kHz)', async () => {
    const pass = await resample(tone(3000, 48000, 48000), 48000, 16000);
    expect(Math.abs(rmsDb(pass) - rmsDb(tone(3000, 16000, 16000)))).toBeLessThan(0.2);
    const high = await resample(tone(6500, 44100, 44100), 44100, 16000);
    expect(Math.abs(rmsDb(high) - rmsDb(tone(6500, 16000, 16000)))).toBeLessThan(0.5);
    const alias = await resample(tone(10000, 48000, 48000), 48000, 16000);
    expect(rmsDb(alias) - rmsDb(pass)).toBeLessThan(-60);
  });

  it('a 1 kHz tone comes out as the ideal 16 kHz tone (SNR over 60 dB)', async () => {
    const out = await resample(tone(1000, 44100, 44100), 44100, 16000);
    const ideal = tone(1000, 16000, out.length);
    let sig = 0;
    let err = 0;
    for (let i = 1600; i < out.length - 1600; i++) {
      sig += ideal[i] ** 2;
      err += (out[i] - ideal[i]) ** 2;
    }
    expect(10 * Math.log10(sig / err)).toBeGreaterThan(60);
  });

  it('takes float32 input (pcm_f32le streams) with the same result as s16', async () => {
    const pcm = tone(500, 48000, 9600);
    const f = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) f[i] = pcm[i] / 32768;
    const a = await streamed(pcm, 48000, 128);
    const b = await streamed(f, 48000, 128);
    expect(b.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1);
    const same = await streamed(f, 16000, 100);
    expect(Array.from(same.subarray(0, 50))).toEqual(Array.from(tone(500, 48000, 9600).subarray(0, 50)));
  });

  it('16 kHz passes through unchanged; an impossible rate is UNSUPPORTED_SAMPLE_RATE', async () => {
    const pcm = tone(440, 16000, 1000);
    expect(Array.from(await streamed(pcm, 16000, 7))).toEqual(Array.from(pcm));
    for (const bad of [0, -1, NaN, 500, 1e6]) {
      expect(() => new StreamResampler(bad, 16000, () => {})).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_SAMPLE_RATE' }));
    }
  });
});
