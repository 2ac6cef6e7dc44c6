// A small, real engine: it hears DTMF (telephone keypad) tones and writes the keys as words. Replace it with
// yours; the provider around it (src/provider.ts) shows what the host expects of any engine.

/** Keypad rows (low tones) and columns (high tones), Hz. */
const LOW = [697, 770, 852, 941];
const HIGH = [1209, 1336, 1477, 1633];
const KEYS = ['123A', '456B', '789C', '*0#D'];
const WORDS: Record<string, string> = {
  '0': 'zero', '1': 'one', '2': 'two', '3': 'three', '4': 'four', '5': 'five', '6': 'six', '7': 'seven', '8': 'eight', '9': 'nine',
  '*': 'star', '#': 'hash', A: 'alpha', B: 'bravo', C: 'charlie', D: 'delta',
};

export const SAMPLE_RATE = 16000;
/** Analysis block: 20 ms. */
export const BLOCK = 320;

/** Power of `freq` in `block` (Goertzel). */
function power(block: Int16Array, freq: number): number {
  const k = (2 * Math.cos((2 * Math.PI * freq) / SAMPLE_RATE));
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < block.length; i++) {
    const s = block[i] / 32768 + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}

/** The key sounding in one 20 ms block, or undefined (silence, speech, noise). */
export function keyOf(block: Int16Array): string | undefined {
  let energy = 0;
  for (let i = 0; i < block.length; i++) energy += (block[i] / 32768) ** 2;
  // Quieter than -40 dBFS: nothing.
  if (energy / block.length < 1e-4) return undefined;
  const lows = LOW.map((f) => power(block, f));
  const highs = HIGH.map((f) => power(block, f));
  const row = lows.indexOf(Math.max(...lows));
  const col = highs.indexOf(Math.max(...highs));
  // Both tones must carry most of the block's energy (Goertzel power ≈ amplitude² · N² / 4).
  const tonal = ((lows[row] + highs[col]) * 2) / (block.length * energy);
  return tonal > 0.6 ? KEYS[row][col] : undefined;
}

export interface KeyRun {
  readonly key: string;
  /** Sample offsets in the stream. */
  readonly start: number;
  readonly end: number;
}

export interface Utterance {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

/**
 * Streaming DTMF decoder: feed it blocks in order; it returns each utterance (keys until a pause) once the pause
 * has passed, and the rest at `flush()`.
 */
export class DtmfDecoder {
  private offset = 0;
  private current: { key: string; start: number; blocks: number } | undefined;
  private keys: KeyRun[] = [];
  private quietBlocks = 0;

  constructor(private readonly opts: { minToneBlocks: number; pauseBlocks: number }) {}

  /** One block of {@link BLOCK} samples. */
  push(block: Int16Array): Utterance | undefined {
    const key = keyOf(block);
    const at = this.offset;
    this.offset += block.length;
    if (key !== undefined && key === this.current?.key) {
      this.current.blocks++;
      return undefined;
    }
    this.endKey(at);
    if (key !== undefined) {
      this.current = { key, start: at, blocks: 1 };
      this.quietBlocks = 0;
      return undefined;
    }
    if (this.keys.length > 0 && ++this.quietBlocks >= this.opts.pauseBlocks) return this.takeUtterance();
    return undefined;
  }

  /** End of the audio: what is still open. */
  flush(): Utterance | undefined {
    this.endKey(this.offset);
    return this.keys.length > 0 ? this.takeUtterance() : undefined;
  }

  private endKey(at: number): void {
    if (this.current && this.current.blocks >= this.opts.minToneBlocks) this.keys.push({ key: this.current.key, start: this.current.start, end: at });
    this.current = undefined;
  }

  private takeUtterance(): Utterance {
    const keys = this.keys;
    this.keys = [];
    this.quietBlocks = 0;
    return { text: keys.map((k) => WORDS[k.key]).join(' '), start: keys[0].start, end: keys.at(-1)!.end };
  }
}

/** PCM of `keys` dialled (100 ms tones, 60 ms apart), with `padSeconds` of silence around: test audio. */
export function dialTones(keys: string, padSeconds = 0.3): Int16Array {
  const tone = 0.1 * SAMPLE_RATE;
  const gap = 0.06 * SAMPLE_RATE;
  const pad = Math.round(padSeconds * SAMPLE_RATE);
  const out = new Int16Array(pad * 2 + keys.length * (tone + gap));
  [...keys].forEach((key, i) => {
    const row = KEYS.findIndex((r) => r.includes(key));
    if (row < 0) throw new Error(`'${key}' is not a DTMF key`);
    const lo = LOW[row];
    const hi = HIGH[KEYS[row].indexOf(key)];
    const at = pad + i * (tone + gap);
    for (let n = 0; n < tone; n++) out[at + n] = Math.round(8000 * (Math.sin((2 * Math.PI * lo * n) / SAMPLE_RATE) + Math.sin((2 * Math.PI * hi * n) / SAMPLE_RATE)));
  });
  return out;
}

/** The words the engine writes for `keys`. */
export function keyWords(keys: string): string {
  return [...keys].map((k) => WORDS[k]).join(' ');
}

/** Key sequences of the test corpus: 58 words. */
const CORPUS_KEYS = ['0123456789*#', '9876543210#*', '5550172346', '31415926535897', '2718281828'];

/** Audio with known transcripts for the conformance kit (`corpus` option): this engine hears tones, not speech. */
export function dtmfCorpus(): { name: string; utterances: { text: string; samples: Int16Array }[] } {
  return { name: 'DTMF keys', utterances: CORPUS_KEYS.map((keys) => ({ text: keyWords(keys), samples: dialTones(keys) })) };
}
