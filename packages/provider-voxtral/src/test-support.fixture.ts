// Test helpers: the voxtral.c stand-in, a fake model directory, and audio the stand-in "recognizes".
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  silentLogger,
  systemClock,
  type PluginContext,
  type Segment,
  type TranscriptionEvent,
} from '@echopanel/plugin-api';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURE_DIR = path.join(here, '..', 'test-fixtures');
export const STANDIN = path.join(FIXTURE_DIR, 'voxtral-standin.mjs');
/** The stand-in's vocabulary: word i is a tone of 400 + 100·i Hz. */
export const VOCAB: readonly string[] = JSON.parse(readFileSync(path.join(FIXTURE_DIR, 'standin-vocab.json'), 'utf8'));

export function tempDir(prefix = 'voxtral-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A model directory with the three files voxtral.c's download script creates (tiny, valid safetensors header). */
export function makeModelDir(omit: readonly string[] = []): string {
  const dir = path.join(tempDir(), 'voxtral-model');
  mkdirSync(dir);
  const header = Buffer.from('{}', 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const files: Record<string, Buffer | string> = {
    'consolidated.safetensors': Buffer.concat([len, header]),
    'tekken.json': '{"vocab": [], "special_tokens": []}',
    'params.json': '{"dim": 3072}',
  };
  for (const [name, content] of Object.entries(files)) if (!omit.includes(name)) writeFileSync(path.join(dir, name), content);
  return dir;
}

export interface ToneOptions {
  /** Seconds of each word's tone (default 0.32). */
  readonly word?: number;
  /** Gap after each word (default 0.16). */
  readonly gap?: number;
  /** Silence for a '.' (default 0.8 — the stand-in adds '.' after 640 ms). */
  readonly sentenceGap?: number;
  readonly lead?: number;
  readonly tail?: number;
}

/** PCM the stand-in transcribes as `words` ('.' = sentence pause). */
export function toneWords(words: readonly string[], o: ToneOptions = {}): Int16Array {
  const rate = 16000;
  const parts: Int16Array[] = [new Int16Array(Math.round((o.lead ?? 0.3) * rate))];
  for (const w of words) {
    if (w === '.') {
      parts.push(new Int16Array(Math.round((o.sentenceGap ?? 0.8) * rate)));
      continue;
    }
    const i = VOCAB.indexOf(w);
    if (i < 0) throw new Error(`"${w}" is not in the stand-in vocabulary`);
    const f = 400 + 100 * i;
    const tone = new Int16Array(Math.round((o.word ?? 0.32) * rate));
    for (let k = 0; k < tone.length; k++) tone[k] = Math.round(0.3 * 32767 * Math.sin((2 * Math.PI * f * k) / rate));
    parts.push(tone, new Int16Array(Math.round((o.gap ?? 0.16) * rate)));
  }
  parts.push(new Int16Array(Math.round((o.tail ?? 0.5) * rate)));
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** What the stand-in prints for `words`: "hello world. café." */
export function expectedText(words: readonly string[]): string {
  let s = '';
  for (const w of words) s += w === '.' ? '.' : (s ? ' ' : '') + w;
  return s.endsWith('.') ? s : `${s}.`;
}

export function pluginContext(env: Record<string, string | undefined> = {}, configDir = tempDir()): PluginContext {
  return {
    logger: silentLogger,
    configDir,
    pythonPath: 'python3',
    models: {
      find: async () => undefined,
      resolve: async () => {
        throw new Error('voxtral does not use the model store');
      },
    },
    clock: systemClock,
    env: { ...process.env, ...env },
  };
}

/** Frames of `pcm` as an async iterable, counting how many samples the consumer has pulled. */
export function countingFrames(pcm: Int16Array, frameSamples = 1600, onPull?: (pulled: number) => void): AsyncIterable<Int16Array> {
  return {
    async *[Symbol.asyncIterator]() {
      let pulled = 0;
      for (let i = 0; i < pcm.length; i += frameSamples) {
        const frame = pcm.subarray(i, Math.min(pcm.length, i + frameSamples));
        pulled += frame.length;
        onPull?.(pulled);
        yield frame;
      }
    },
  };
}

export interface Collected {
  readonly segments: Segment[];
  readonly finals: Segment[];
  readonly events: TranscriptionEvent[];
  readonly text: string;
}

export function sumSamples(events: readonly TranscriptionEvent[], type: 'transcribed' | 'skipped' | 'dropped'): number {
  let n = 0;
  for (const e of events) if (e.type === type) n += e.samples;
  return n;
}

/** Runs `iterable`, collecting segments; `events` must be the array the caller's onEvent pushes to. */
export async function collect(iterable: AsyncIterable<Segment>, events: TranscriptionEvent[]): Promise<Collected> {
  const segments: Segment[] = [];
  for await (const s of iterable) segments.push(s);
  const finals = segments.filter((s) => s.isFinal);
  return { segments, finals, events, text: finals.map((s) => s.text).join(' ') };
}
