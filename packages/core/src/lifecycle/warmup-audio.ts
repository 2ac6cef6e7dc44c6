/**
 * Warmup audio the manager makes itself (no files): a tone burst, a noise burst and a speech-like signal
 * (a glottal pulse train through vowel formant resonators with a syllable envelope), so the engine's feature
 * extraction, encoder and decoder all run on realistic input. Deterministic: same samples every call.
 */
export function synthesizeWarmupAudio(options: { seconds?: number; sampleRate?: number } = {}): Int16Array {
  const rate = options.sampleRate ?? 16000;
  const total = Math.max(1, Math.round((options.seconds ?? 2) * rate));
  const out = new Float32Array(total);
  const toneEnd = Math.min(total, Math.round(0.2 * rate));
  const noiseEnd = Math.min(total, Math.round(0.4 * rate));
  let seed = 0x2f6b1d3;
  const noise = () => {
    // xorshift32: a fixed sequence, so the warmup input never changes between runs.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return ((seed >>> 0) / 0xffffffff) * 2 - 1;
  };
  const fade = Math.round(0.01 * rate);
  for (let i = 0; i < toneEnd; i++) {
    const env = Math.min(1, i / fade, (toneEnd - i) / fade);
    out[i] = 0.3 * env * Math.sin((2 * Math.PI * 440 * i) / rate);
  }
  for (let i = toneEnd; i < noiseEnd; i++) out[i] = 0.1 * noise();
  speechLike(out, noiseEnd, total, rate, noise);
  const pcm = new Int16Array(total);
  for (let i = 0; i < total; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(out[i] * 32767)));
  return pcm;
}

// F1, F2, F3 (Hz) of a few vowels.
const VOWELS: readonly (readonly [number, number, number])[] = [
  [730, 1090, 2440], // a
  [270, 2290, 3010], // i
  [300, 870, 2240], // u
  [530, 1840, 2480], // e
  [570, 840, 2410], // o
];

function speechLike(out: Float32Array, from: number, to: number, rate: number, noise: () => number): void {
  const syllable = Math.round(0.25 * rate);
  const source = new Float32Array(to - from);
  let phase = 0;
  for (let i = 0; i < source.length; i++) {
    const t = i / rate;
    const f0 = 125 + 15 * Math.sin(2 * Math.PI * 0.7 * t);
    phase += f0 / rate;
    if (phase >= 1) {
      phase -= 1;
      source[i] = 1;
    }
    const inSyl = (i % syllable) / syllable;
    // Onset of each syllable is a short burst of aspiration noise (a consonant), the rest is voiced.
    if (inSyl < 0.12) source[i] = 0.25 * noise();
  }
  const voiced = new Float32Array(source.length);
  for (let s = 0; s * syllable < source.length; s++) {
    const start = s * syllable;
    const end = Math.min(source.length, start + syllable);
    let seg: Float32Array = source.subarray(start, end);
    for (const f of VOWELS[s % VOWELS.length]) seg = resonate(seg, f, 80 + f * 0.05, rate);
    voiced.set(seg, start);
  }
  let peak = 0;
  for (const v of voiced) peak = Math.max(peak, Math.abs(v));
  const gain = peak > 0 ? 0.5 / peak : 0;
  for (let i = 0; i < voiced.length; i++) {
    const inSyl = (i % syllable) / syllable;
    const env = 0.2 + 0.8 * Math.sin(Math.PI * inSyl) ** 2;
    out[from + i] = voiced[i] * gain * env;
  }
}

/** Two-pole resonator (one formant) with unit gain at its centre frequency. */
function resonate(x: Float32Array, freq: number, bandwidth: number, rate: number): Float32Array {
  const r = Math.exp((-Math.PI * bandwidth) / rate);
  const c = 2 * r * Math.cos((2 * Math.PI * freq) / rate);
  const d = -r * r;
  const g = 1 - r;
  const y = new Float32Array(x.length);
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = g * x[i] + c * y1 + d * y2;
    y[i] = v;
    y2 = y1;
    y1 = v;
  }
  return y;
}
