import { concatPcm, silence, synthesizeSpeech, SPEECH_SENTENCES } from '@echopanel/plugin-testkit';

/**
 * Where speech really is in an espeak-ng utterance: the first and last sample louder than −70 dBFS (|x| > 10).
 * espeak's output is digital silence around the voice (only resampling ripple of a few LSB), so this is exact
 * to a sample; thresholds from 1 to 300 LSB move it by under 5 ms.
 */
export function speechExtent(pcm: Int16Array, level = 10): { onset: number; offset: number } {
  let a = 0;
  while (a < pcm.length && Math.abs(pcm[a]) <= level) a++;
  let b = pcm.length - 1;
  while (b > a && Math.abs(pcm[b]) <= level) b--;
  return { onset: a, offset: b + 1 };
}

export interface KnownSpeech {
  readonly pcm: Int16Array;
  /** Speech runs in samples, from the silence we inserted plus each utterance's measured extent. */
  readonly truth: ReadonlyArray<{ onset: number; offset: number }>;
}

/** The test sentences in one stream, separated by silences of the given lengths (seconds, one more than sentences). */
export function sentencesWithPauses(voice: string, pauses: readonly number[], rate = 16000): KnownSpeech {
  const parts: Int16Array[] = [];
  const truth: Array<{ onset: number; offset: number }> = [];
  let at = 0;
  SPEECH_SENTENCES.forEach((text, i) => {
    const gap = silence(pauses[i], rate);
    parts.push(gap);
    at += gap.length;
    const utterance = synthesizeSpeech(text, { voice }).samples;
    const { onset, offset } = speechExtent(utterance);
    truth.push({ onset: at + onset, offset: at + offset });
    parts.push(utterance);
    at += utterance.length;
  });
  parts.push(silence(pauses[SPEECH_SENTENCES.length], rate));
  return { pcm: concatPcm(...parts), truth };
}

/** Uniform white noise at `amplitude` (0..1 of full scale), reproducible from `seed`. */
export function whiteNoise(samples: number, amplitude: number, seed = 1): Int16Array {
  let a = seed >>> 0;
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    out[i] = Math.round(((a / 4294967296) * 2 - 1) * amplitude * 32767);
  }
  return out;
}
