import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeWav } from '@echopanel/plugin-api';

export interface SpeechOptions {
  /** espeak-ng voice, e.g. `en-us`, `en-gb`, `en-us+f3`. */
  readonly voice?: string;
  /** Words per minute (espeak default 175). */
  readonly wpm?: number;
  /** Silence added before and after, seconds. */
  readonly padSeconds?: number | readonly [number, number];
  /** White noise mixed in at this amplitude (0..1), via sox. */
  readonly noise?: number;
}

export interface SpeechFixture {
  readonly text: string;
  readonly wavPath: string;
  readonly samples: Int16Array;
  readonly sampleRate: 16000;
}

/** Where generated speech is cached (`ECHOPANEL_FIXTURE_DIR`, default `<tmp>/echopanel-fixtures`). */
export function fixtureDir(): string {
  const dir = process.env.ECHOPANEL_FIXTURE_DIR ?? path.join(os.tmpdir(), 'echopanel-fixtures');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * sox seeds its dither (added when it resamples to 16 bits) and its white noise with a fixed number: the same
 * text and options give the same samples in every process. Without it, two test processes that synthesized one
 * sentence at once replaced each other's cached file with different audio, and the engine heard a borderline
 * sentence two ways (a jobs test compared two transcripts of "one" file and failed).
 */
const REPEATABLE = ['-R'];
/** Part of the cache key: files made before the synthesis changed are not reused. */
const SYNTHESIS_VERSION = 2;

/**
 * Synthesizes speech with a known transcript using espeak-ng, converted by sox to 16 kHz mono s16 WAV
 * (cached by content). Tests use this instead of shipped recordings.
 */
export function synthesizeSpeech(text: string, options: SpeechOptions = {}): SpeechFixture {
  const voice = options.voice ?? 'en-us';
  const wpm = options.wpm ?? 160;
  const [padBefore, padAfter] = Array.isArray(options.padSeconds)
    ? (options.padSeconds as readonly [number, number])
    : [(options.padSeconds as number | undefined) ?? 0, (options.padSeconds as number | undefined) ?? 0];
  const noise = options.noise ?? 0;
  const key = createHash('sha256').update(JSON.stringify([SYNTHESIS_VERSION, text, voice, wpm, padBefore, padAfter, noise])).digest('hex').slice(0, 16);
  const dir = fixtureDir();
  const wavPath = path.join(dir, `speech-${key}.wav`);
  if (!existsSync(wavPath)) {
    const raw = path.join(dir, `raw-${key}-${process.pid}.wav`);
    const tmp = path.join(dir, `tmp-${key}-${process.pid}.wav`);
    execFileSync('espeak-ng', ['-v', voice, '-s', String(wpm), '-w', raw, text], { stdio: ['ignore', 'ignore', 'pipe'] });
    const pad = padBefore > 0 || padAfter > 0 ? ['pad', String(padBefore), String(padAfter)] : [];
    if (noise > 0) {
      const base = path.join(dir, `base-${key}-${process.pid}.wav`);
      execFileSync('sox', [...REPEATABLE, raw, '-r', '16000', '-c', '1', '-b', '16', base, ...pad]);
      const seconds = execFileSync('soxi', ['-D', base]).toString().trim();
      const white = path.join(dir, `white-${key}-${process.pid}.wav`);
      execFileSync('sox', [...REPEATABLE, '-n', '-r', '16000', '-c', '1', '-b', '16', white, 'synth', seconds, 'whitenoise', 'vol', String(noise)]);
      execFileSync('sox', [...REPEATABLE, '-m', base, white, '-b', '16', tmp]);
      for (const f of [base, white]) rmSync(f, { force: true });
    } else {
      execFileSync('sox', [...REPEATABLE, raw, '-r', '16000', '-c', '1', '-b', '16', tmp, ...pad]);
    }
    rmSync(raw, { force: true });
    renameSync(tmp, wavPath);
  }
  const audio = decodeWav(readFileSync(wavPath));
  return { text, wavPath, samples: audio.samples, sampleRate: 16000 };
}

/** Silence of the given length at 16 kHz. */
export function silence(seconds: number, sampleRate = 16000): Int16Array {
  return new Int16Array(Math.round(seconds * sampleRate));
}

/** Concatenates PCM pieces. */
export function concatPcm(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Sentences with known transcripts used across the test suites. */
export const SPEECH_SENTENCES = [
  'The quick brown fox jumps over the lazy dog.',
  'Please call Stella and ask her to bring these things with her from the store.',
  'We will meet at the station after lunch and take the train to the city.',
  'Speech recognition on a small computer should be fast and accurate.',
] as const;
