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
      `${engine} takes ${expected} Hz PCM, got ${rate} Hz; resample first (resample or StreamResampler from @echopanel/plugin-api)`,
      { details: { sampleRate: rate, expected } },
    );
  }
}

/** float → s16, the inverse of the /32768 of {@link int16ToFloat32} (so s16 round-trips exactly), clamped. */
export function floatToInt16(v: number): number {
  const r = Math.round(v * 32768);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}

/** float32 in [-1, 1) → s16 (see {@link floatToInt16}). */
export function float32ToInt16(f: Float32Array): Int16Array {
  const out = new Int16Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = floatToInt16(f[i]);
  return out;
}

/** s16 → float32 in [-1, 1). */
export function int16ToFloat32(pcm: Int16Array, out: Float32Array = new Float32Array(pcm.length)): Float32Array {
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i] / 32768;
  return out;
}

/**
 * Turns a byte stream (e.g. WebSocket frames) into whole samples (s16 or float32 little-endian), carrying a
 * partial trailing sample to the next chunk instead of dropping or misaligning it.
 */
export class PcmByteAligner {
  private carry = new Uint8Array(0);

  constructor(private readonly sampleBytes: 2 | 4 = 2) {}

  /** The complete s16 samples in `bytes` (plus any carried bytes). */
  push(bytes: Uint8Array): Int16Array {
    const aligned = this.align(bytes);
    const out = new Int16Array(aligned.byteLength / 2);
    new Uint8Array(out.buffer).set(aligned);
    return out;
  }

  /** The complete float32 samples in `bytes` (for an aligner of 4-byte samples). */
  pushFloat32(bytes: Uint8Array): Float32Array {
    const aligned = this.align(bytes);
    const out = new Float32Array(aligned.byteLength / 4);
    new Uint8Array(out.buffer).set(aligned);
    return out;
  }

  /** Bytes still carried (less than one sample). */
  get pendingBytes(): number {
    return this.carry.byteLength;
  }

  private align(bytes: Uint8Array): Uint8Array {
    let src = bytes;
    if (this.carry.byteLength > 0) {
      src = new Uint8Array(this.carry.byteLength + bytes.byteLength);
      src.set(this.carry);
      src.set(bytes, this.carry.byteLength);
    }
    const whole = src.byteLength - (src.byteLength % this.sampleBytes);
    this.carry = src.slice(whole);
    return src.subarray(0, whole);
  }
}

/** Wraps an array of PCM frames as the async iterable `transcribe` takes. */
export async function* pcmFrames(pcm: Int16Array, frameSamples = 1600): AsyncGenerator<Int16Array> {
  for (let i = 0; i < pcm.length; i += frameSamples) yield pcm.subarray(i, Math.min(pcm.length, i + frameSamples));
}
