import { concatPcm, silence, SPEECH_SENTENCES, synthesizeSpeech } from '../speech.js';
import { normalizeTranscript } from '../wer.js';
import type { ConformanceCorpus, ConformanceOptions } from './types.js';

/** Speech synthesized by espeak-ng from {@link SPEECH_SENTENCES}, alternating US and UK voices (50 words). */
export function speechCorpus(): ConformanceCorpus {
  return {
    name: 'espeak-ng speech',
    utterances: SPEECH_SENTENCES.map((text, i) => ({ text, samples: synthesizeSpeech(text, { voice: i % 2 ? 'en-gb' : 'en-us', padSeconds: 0.3 }).samples })),
  };
}

export const MIN_CORPUS_UTTERANCES = 4;
export const MIN_CORPUS_WORDS = 40;

/** The corpus of a run, checked to be big enough for a pooled bound. */
export async function resolveCorpus(option: ConformanceOptions['corpus']): Promise<ConformanceCorpus> {
  const corpus = option === undefined ? speechCorpus() : typeof option === 'function' ? await option() : option;
  const words = corpus.utterances.reduce((n, u) => n + normalizeTranscript(u.text).length, 0);
  if (corpus.utterances.length < MIN_CORPUS_UTTERANCES || words < MIN_CORPUS_WORDS) {
    throw new Error(
      `corpus '${corpus.name}' has ${corpus.utterances.length} utterances and ${words} words; the kit needs at least ${MIN_CORPUS_UTTERANCES} and ${MIN_CORPUS_WORDS} (WER bounds are pooled)`,
    );
  }
  return corpus;
}

/** Every utterance of the corpus in a row, half a second apart. */
export function wholeCorpus(corpus: ConformanceCorpus): { text: string; samples: Int16Array } {
  return {
    text: corpus.utterances.map((u) => u.text).join(' '),
    samples: concatPcm(...corpus.utterances.flatMap((u) => [u.samples, silence(0.5)])),
  };
}
