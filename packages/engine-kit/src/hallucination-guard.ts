/** A segment as an engine returns it, times relative to the decoded audio. */
export interface RawSegment {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** Whisper's average log-probability of the segment's tokens. */
  readonly avgLogprob?: number;
  readonly noSpeechProb?: number;
  readonly compressionRatio?: number;
  /** Engine-computed confidence 0..1 when there is no avgLogprob. */
  readonly confidence?: number;
  readonly language?: string;
  readonly words?: readonly { word: string; start: number; end: number; probability?: number }[];
}

export interface HallucinationGuardOptions {
  /** Segments below this confidence with fewer than `minWords` words are dropped (default 0.3). */
  readonly minConfidence?: number;
  /** (default 3) */
  readonly minWords?: number;
  /** Segments whose no-speech probability exceeds this and whose confidence is low are dropped. */
  readonly maxNoSpeechProb?: number;
  /** Whisper's repetition loops show as a high compression ratio (whisper's own threshold is 2.4). */
  readonly maxCompressionRatio?: number;
}

/** Confidence from avg_logprob: clamp(1 + avg_logprob / 2, 0, 1). */
export function confidenceFromLogprob(avgLogprob: number): number {
  return Math.max(0, Math.min(1, 1 + avgLogprob / 2));
}

/** The segment's confidence: the engine's, else from avg_logprob, else undefined. */
export function segmentConfidence(seg: RawSegment): number | undefined {
  if (seg.confidence !== undefined) return seg.confidence;
  if (seg.avgLogprob !== undefined) return confidenceFromLogprob(seg.avgLogprob);
  return undefined;
}

/**
 * Why a segment looks like a hallucination (empty, short + unsure, no speech + unsure, a repetition loop),
 * or undefined when it should be kept.
 */
export function hallucinationReason(seg: RawSegment, options: HallucinationGuardOptions = {}): string | undefined {
  const text = seg.text.trim();
  if (!text) return 'empty';
  const confidence = segmentConfidence(seg) ?? 1;
  const words = text.split(/\s+/).length;
  if (confidence < (options.minConfidence ?? 0.3) && words < (options.minWords ?? 3)) {
    return `low confidence ${confidence.toFixed(2)} on ${words} word(s)`;
  }
  if (seg.noSpeechProb !== undefined && seg.noSpeechProb > (options.maxNoSpeechProb ?? 0.6) && confidence < 0.5) {
    return `no-speech probability ${seg.noSpeechProb.toFixed(2)}`;
  }
  if (seg.compressionRatio !== undefined && seg.compressionRatio > (options.maxCompressionRatio ?? 2.4)) {
    return `repetition (compression ratio ${seg.compressionRatio.toFixed(2)})`;
  }
  return undefined;
}
