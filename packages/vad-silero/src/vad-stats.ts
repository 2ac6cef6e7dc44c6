/** What a {@link VadFilter} saved and spent (seed `VADStats`, with the time saved measured). "Frames" are samples. */
export interface VADStats {
  /** Samples the VAD analysed. */
  readonly totalFrames: number;
  /** Samples sent to the engine as speech. */
  readonly speechFrames: number;
  /** Samples kept from the engine as silence. */
  readonly silenceFrames: number;
  /** Samples sent to the engine without VAD (VAD disabled or unavailable). */
  readonly passthroughFrames: number;
  /** `silence / (speech + silence)`. */
  readonly silenceRatio: number;
  /** Silence runs reported as skipped. */
  readonly skippedChunks: number;
  /** Speech segments sent to the engine. */
  readonly processedChunks: number;
  /** `skipped / (skipped + processed)`. */
  readonly skipRate: number;
  /**
   * The wrapped engine's measured cost: milliseconds of inference per second of audio (timed `decode` calls,
   * else the provider's reported RTF); `null` until something was measured.
   */
  readonly inferenceMsPerAudioSecond: number | null;
  /** Silence seconds × measured cost: engine time the filter saved (0 until measured). */
  readonly inferTimeSavedMs: number;
  /** Time spent running the VAD itself. */
  readonly vadMs: number;
}

/** Mutable counters behind {@link VADStats}. */
export class VadStatsCollector {
  totalFrames = 0;
  speechFrames = 0;
  silenceFrames = 0;
  passthroughFrames = 0;
  skippedChunks = 0;
  processedChunks = 0;
  vadMs = 0;
  /** Silence in seconds (streams may differ in sample rate). */
  silenceSeconds = 0;
  private inferMs = 0;
  private inferAudioSeconds = 0;

  /** A timed engine call over `audioSeconds` of speech. */
  recordInference(ms: number, audioSeconds: number): void {
    this.inferMs += ms;
    this.inferAudioSeconds += audioSeconds;
  }

  /** `fallbackRtf`: the provider's own processing-time / audio-time, used until a call was timed here. */
  snapshot(fallbackRtf?: number): VADStats {
    const perSecond =
      this.inferAudioSeconds > 0 ? (this.inferMs / this.inferAudioSeconds) : fallbackRtf !== undefined && fallbackRtf > 0 ? fallbackRtf * 1000 : null;
    const decided = this.speechFrames + this.silenceFrames;
    const chunks = this.skippedChunks + this.processedChunks;
    return {
      totalFrames: this.totalFrames,
      speechFrames: this.speechFrames,
      silenceFrames: this.silenceFrames,
      passthroughFrames: this.passthroughFrames,
      silenceRatio: decided > 0 ? this.silenceFrames / decided : 0,
      skippedChunks: this.skippedChunks,
      processedChunks: this.processedChunks,
      skipRate: chunks > 0 ? this.skippedChunks / chunks : 0,
      inferenceMsPerAudioSecond: perSecond === null ? null : round3(perSecond),
      inferTimeSavedMs: perSecond === null ? 0 : round3(this.silenceSeconds * perSecond),
      vadMs: round3(this.vadMs),
    };
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
