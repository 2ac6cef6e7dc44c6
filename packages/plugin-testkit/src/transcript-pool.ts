import { wordErrorRate, type WerResult } from './wer.js';

/**
 * A single sentence's WER only says "recognizably the sentence": one sentence is too few words for a tighter
 * bound that a different CPU's rounding (VAD probabilities, beam ties) cannot flip.
 */
export const RECOGNIZABLE_WER = 0.6;

/**
 * The transcripts a test file gets, so their accuracy is bounded pooled (over ≥ 40 words, with margin) by a
 * last test, instead of sentence by sentence at the edge of what one machine produces.
 */
export class TranscriptPool {
  private readonly references: string[] = [];
  private readonly hypotheses: string[] = [];

  /** Adds one transcript and returns its own WER, for a loose check against {@link RECOGNIZABLE_WER} only. */
  heard(reference: string, hypothesis: string): number {
    this.references.push(reference);
    this.hypotheses.push(hypothesis);
    return wordErrorRate(reference, hypothesis).wer;
  }

  /** WER over every transcript heard so far; `referenceWords` is the number of words it is pooled over. */
  pooled(): WerResult {
    return wordErrorRate(this.references.join(' '), this.hypotheses.join(' '));
  }
}
