import { EchoPanelError } from '../errors/echopanel-error.js';

/** Root-mean-square level of s16 PCM on a 0..1 scale. */
export function rms(pcm: Int16Array): number {
  if (pcm.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) {
    const v = pcm[i] / 32768;
    sum += v * v;
  }
  return Math.sqrt(sum / pcm.length);
}

/** Throws UNSUPPORTED_SAMPLE_RATE unless `rate` is the rate `engine` reads (the caller resamples first). */
export function assertSampleRate(rate: number, expected: number, engine: string): void {
  if (rate !== expected) {
    throw new EchoPanelError(
      'UNSUPPORTED_SAMPLE_RATE',
      `${engine} takes ${expected} Hz PCM, got ${rate} Hz; resample first (resampleLinear from @echopanel/core)`,
      { details: { sampleRate: rate, expected } },
    );
  }
}

/** s16 → float32 in [-1, 1). */
export function int16ToFloat32(pcm: Int16Array, out: Float32Array = new Float32Array(pcm.length)): Float32Array {
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i] / 32768;
  return out;
}

/**
 * Linear-interpolation resampler for mono s16 (good enough for speech into 16 kHz ASR; the anti-alias
 * low-pass is a moving average over the decimation ratio when downsampling).
 */
export function resampleLinear(pcm: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (!Number.isFinite(fromRate) || fromRate <= 0 || !Number.isFinite(toRate) || toRate <= 0) {
    throw new EchoPanelError('UNSUPPORTED_SAMPLE_RATE', `cannot resample from ${fromRate} Hz to ${toRate} Hz`);
  }
  if (fromRate === toRate) return pcm;
  let src: ArrayLike<number> = pcm;
  const ratio = fromRate / toRate;
  if (ratio > 1) {
    const k = Math.max(1, Math.round(ratio));
    const smoothed = new Float32Array(pcm.length);
    let acc = 0;
    for (let i = 0; i < pcm.length; i++) {
      acc += pcm[i];
      if (i >= k) acc -= pcm[i - k];
      smoothed[i] = acc / Math.min(i + 1, k);
    }
    src = smoothed;
  }
  const n = Math.floor(pcm.length / ratio);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const x = i * ratio;
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, pcm.length - 1);
    const f = x - i0;
    out[i] = Math.round(src[i0] * (1 - f) + src[i1] * f);
  }
  return out;
}

/**
 * Turns a byte stream (e.g. WebSocket frames) into s16 frames, carrying an odd trailing byte to the next chunk
 * instead of dropping or misaligning it.
 */
export class PcmByteAligner {
  private carry: number | undefined;

  /** Returns the complete samples in `bytes` (plus any carried byte). */
  push(bytes: Uint8Array): Int16Array {
    let src = bytes;
    if (this.carry !== undefined) {
      const joined = new Uint8Array(bytes.byteLength + 1);
      joined[0] = this.carry;
      joined.set(bytes, 1);
      src = joined;
      this.carry = undefined;
    }
    const even = src.byteLength & ~1;
    if (even !== src.byteLength) this.carry = src[src.byteLength - 1];
    const out = new Int16Array(even / 2);
    new Uint8Array(out.buffer).set(src.subarray(0, even));
    return out;
  }

  /** Bytes still carried (0 or 1). */
  get pendingBytes(): number {
    return this.carry === undefined ? 0 : 1;
  }
}

/** Wraps an array of PCM frames as the async iterable `transcribe` takes. */
export async function* pcmFrames(pcm: Int16Array, frameSamples = 1600): AsyncGenerator<Int16Array> {
  for (let i = 0; i < pcm.length; i += frameSamples) yield pcm.subarray(i, Math.min(pcm.length, i + frameSamples));
}
