// A directory of recordings with transcripts: every NAME.wav with its reference NAME.txt (the eval sets, the
// dev-real recordings), as 16 kHz mono PCM.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeWav, resample } from '@echopanel/core';

/**
 * Loads every `NAME.wav` in `dir` (sorted by name) with its `NAME.txt`, resampled to 16 kHz. Throws when the
 * directory is missing, holds no WAV, or a WAV has no transcript.
 * @returns {Promise<{ id: string, file: string, pcm: Int16Array, seconds: number, reference: string }[]>}
 */
export async function loadSpeechDir(dir) {
  if (!existsSync(dir)) throw new Error(`${dir} does not exist (expected WAV files with a reference .txt of the same name)`);
  const files = await Promise.all(
    readdirSync(dir)
      .filter((f) => f.toLowerCase().endsWith('.wav'))
      .sort()
      .map(async (f) => {
        const base = f.replace(/\.wav$/i, '');
        const txt = path.join(dir, `${base}.txt`);
        if (!existsSync(txt)) throw new Error(`${path.join(dir, f)} has no reference ${base}.txt`);
        const wav = decodeWav(readFileSync(path.join(dir, f)));
        const pcm = wav.sampleRate === 16000 ? wav.samples : await resample(wav.samples, wav.sampleRate, 16000);
        return { id: base, file: path.join(dir, f), pcm, seconds: pcm.length / 16000, reference: readFileSync(txt, 'utf8').trim() };
      }),
  );
  if (files.length === 0) throw new Error(`${dir} holds no .wav files`);
  return files;
}
