import type { VadEvent } from '@echopanel/plugin-api';
import { SpeechEdgeRefiner } from './speech-edges.js';

/** Segmentation rules in samples (see {@link segmenterSettings}). */
export interface SegmenterSettings {
  readonly windowSamples: number;
  readonly threshold: number;
  readonly negThreshold: number;
  readonly minSpeechSamples: number;
  readonly minSilenceSamples: number;
  readonly speechPadSamples: number;
  /** Silero's `max_speech_samples` (`sr · max_s − window − 2 · pad`); `Infinity` for no limit. */
  readonly maxSpeechSamples: number;
  /** Pauses longer than this (98 ms) are split points for over-long speech. */
  readonly minSilenceAtMaxSpeechSamples: number;
  /** Move edges to where the sound starts and stops (needs block levels, see {@link SpeechSegmenter.step}). */
  readonly refineBoundaries: boolean;
}

export interface SegmenterTimings {
  readonly threshold: number;
  readonly negThreshold?: number;
  readonly minSpeechMs: number;
  readonly minSilenceMs: number;
  readonly speechPadMs: number;
  readonly maxSpeechSeconds: number;
  /** Default false: Silero's own boundaries. */
  readonly refineBoundaries?: boolean;
}

/** Converts millisecond settings to samples exactly as Silero's `get_speech_timestamps` does. */
export function segmenterSettings(t: SegmenterTimings, sampleRate: number, windowSamples: number): SegmenterSettings {
  const pad = Math.floor((sampleRate * t.speechPadMs) / 1000);
  return {
    windowSamples,
    threshold: t.threshold,
    negThreshold: t.negThreshold ?? Math.max(t.threshold - 0.15, 0.01),
    minSpeechSamples: (sampleRate * t.minSpeechMs) / 1000,
    minSilenceSamples: (sampleRate * t.minSilenceMs) / 1000,
    speechPadSamples: pad,
    maxSpeechSamples: Number.isFinite(t.maxSpeechSeconds) ? sampleRate * t.maxSpeechSeconds - windowSamples - 2 * pad : Infinity,
    minSilenceAtMaxSpeechSamples: (sampleRate * 98) / 1000,
    refineBoundaries: t.refineBoundaries ?? false,
  };
}

/**
 * Silero's `get_speech_timestamps` turned into a streaming state machine: fed one probability per window, it
 * emits the same padded segments the offline function returns for the whole file, each as soon as it is
 * certain. A segment's start is announced once it is known to outlast `minSpeech` (so never retracted); its end
 * once the padding against the next segment is decided (immediately when `minSilence ≥ 2 · pad`, the default).
 * State is a handful of numbers: memory does not grow with the stream.
 */
export class SpeechSegmenter {
  private windowIndex = 0;
  private triggered = false;
  private tempEnd = 0;
  private prevEnd = 0;
  private nextStart = 0;
  /** Unpadded start of the current speech (`current_speech['start']`), valid while triggered. */
  private curStart = 0;
  /** The current speech's start event has been emitted. */
  private confirmed = false;
  /** A finished segment whose end padding waits on the next segment's start. */
  private pending: { paddedStart: number; rawEnd: number } | undefined;
  private openPaddedStart = 0;
  private lastEnd = 0;
  private settled = 0;
  private readonly edges: SpeechEdgeRefiner | undefined;
  /** Where the current speech's sound began (≤ curStart; = curStart without refinement). */
  private soundStart = 0;
  /** Unpadded end of the last closed segment (0 before any). */
  private prevRawEnd = 0;

  constructor(readonly settings: SegmenterSettings) {
    if (settings.refineBoundaries) this.edges = new SpeechEdgeRefiner(settings.windowSamples);
  }

  /** Samples before this offset are decided: inside an announced segment or silence for good. */
  get settledSample(): number {
    return this.settled;
  }

  /**
   * Feeds the next window's probability; appends the events it causes to `out`. With `refineBoundaries`,
   * `levels` are the window's four 8 ms block levels in dBFS, given for every window.
   */
  step(prob: number, out: VadEvent[], levels?: ArrayLike<number>): void {
    const s = this.settings;
    const cur = s.windowSamples * this.windowIndex++;
    if (levels) this.edges?.observe(levels);
    this.decide(prob, cur, out);
    this.resolvePending(out);
    this.updateSettled();
  }

  /** End of stream after `totalSamples`: closes open speech (Silero: end = audio length), then resets. */
  finish(totalSamples: number, out: VadEvent[]): void {
    if (this.triggered && totalSamples - this.curStart > this.settings.minSpeechSamples) {
      this.close(this.curStart, totalSamples, true, out);
    }
    if (this.pending) this.emitEnd(Math.min(totalSamples, this.pending.rawEnd + this.settings.speechPadSamples), out);
    this.reset();
  }

  reset(): void {
    this.windowIndex = 0;
    this.triggered = false;
    this.tempEnd = this.prevEnd = this.nextStart = this.curStart = 0;
    this.confirmed = false;
    this.pending = undefined;
    this.openPaddedStart = this.lastEnd = this.settled = 0;
    this.soundStart = this.prevRawEnd = 0;
    this.edges?.reset();
  }

  // The branch structure mirrors get_speech_timestamps line by line (0 means "unset" there too).
  private decide(prob: number, cur: number, out: VadEvent[]): void {
    const s = this.settings;
    if (prob >= s.threshold && this.tempEnd) {
      this.tempEnd = 0;
      if (this.nextStart < this.prevEnd) this.nextStart = cur;
    }
    if (prob >= s.threshold && !this.triggered) {
      this.triggered = true;
      this.curStart = cur;
      // Never so far back that Silero's padding against the previous segment would change.
      this.soundStart = this.edges ? Math.min(cur, this.edges.refineStart(cur, this.prevRawEnd ? this.prevRawEnd + 2 * s.speechPadSamples : 0)) : cur;
      this.confirmed = false;
      return;
    }
    if (this.triggered && cur - this.curStart > s.maxSpeechSamples) {
      if (this.prevEnd) {
        this.close(this.curStart, this.prevEnd, true, out);
        if (this.nextStart < this.prevEnd) this.triggered = false;
        else {
          this.curStart = this.soundStart = this.nextStart;
          this.confirmed = false;
        }
        this.prevEnd = this.nextStart = this.tempEnd = 0;
      } else {
        this.close(this.curStart, cur, true, out);
        this.prevEnd = this.nextStart = this.tempEnd = 0;
        this.triggered = false;
        return;
      }
    }
    if (prob < s.negThreshold && this.triggered) {
      if (!this.tempEnd) {
        this.tempEnd = cur;
        this.edges?.markSilenceStart(cur);
      }
      if (cur - this.tempEnd > s.minSilenceAtMaxSpeechSamples) this.prevEnd = this.tempEnd;
      if (cur - this.tempEnd < s.minSilenceSamples) {
        this.confirmIfCertain(out);
        return;
      }
      this.close(this.curStart, this.tempEnd, false, out);
      this.prevEnd = this.nextStart = this.tempEnd = 0;
      this.triggered = false;
      return;
    }
    this.confirmIfCertain(out);
  }

  /**
   * Announces the current speech once its end can no longer fall within `minSpeech` of its start: the end is
   * at least the pending silence start, or else at least the current window.
   */
  private confirmIfCertain(out: VadEvent[]): void {
    if (!this.triggered || this.confirmed) return;
    const cur = this.settings.windowSamples * (this.windowIndex - 1);
    const earliestEnd = this.tempEnd || cur;
    if (earliestEnd - this.curStart > this.settings.minSpeechSamples) this.confirm(out);
  }

  private confirm(out: VadEvent[]): void {
    const pad = this.settings.speechPadSamples;
    let paddedStart: number;
    const start = this.soundStart;
    if (this.pending) {
      const gap = start - this.pending.rawEnd;
      if (gap < 2 * pad) {
        const half = Math.floor(gap / 2);
        this.emitEnd(this.pending.rawEnd + half, out);
        paddedStart = Math.max(0, start - half);
      } else {
        this.emitEnd(this.pending.rawEnd + pad, out);
        paddedStart = Math.max(0, start - pad);
      }
    } else {
      paddedStart = Math.max(0, start - pad);
    }
    this.confirmed = true;
    this.openPaddedStart = paddedStart;
    out.push({ type: 'speech-start', sample: paddedStart });
  }

  /** Ends the current speech at `rawEnd`; `force` keeps it regardless of `minSpeech` (max-speech splits). */
  private close(start: number, rawEnd: number, force: boolean, out: VadEvent[]): void {
    if (!force && !(rawEnd - start > this.settings.minSpeechSamples)) {
      this.confirmed = false;
      return;
    }
    if (!this.confirmed) this.confirm(out);
    this.confirmed = false;
    // Which segments exist is Silero's decision (above); only where a natural end lies is refined.
    const end = !force && this.edges ? this.edges.refineEnd(rawEnd, start + this.settings.minSpeechSamples) : rawEnd;
    this.pending = { paddedStart: this.openPaddedStart, rawEnd: end };
    this.prevRawEnd = end;
  }

  /** The pending end gets full padding once no later segment can start within two paddings of it. */
  private resolvePending(out: VadEvent[]): void {
    if (!this.pending) return;
    const limit = this.pending.rawEnd + 2 * this.settings.speechPadSamples;
    const nextPossibleStart = this.triggered ? this.curStart : this.settings.windowSamples * this.windowIndex;
    if (nextPossibleStart >= limit) this.emitEnd(this.pending.rawEnd + this.settings.speechPadSamples, out);
  }

  private emitEnd(endSample: number, out: VadEvent[]): void {
    const p = this.pending!;
    out.push({ type: 'speech-end', startSample: p.paddedStart, endSample });
    this.lastEnd = endSample;
    this.pending = undefined;
  }

  private updateSettled(): void {
    const s = this.settings;
    const nextWindow = s.windowSamples * this.windowIndex;
    let v: number;
    // Refined edges can move back over the last few windows: those stay undecided until the edge is known.
    const move = this.edges?.maxMoveSamples ?? 0;
    if (this.pending) v = this.pending.rawEnd;
    else if (this.triggered && this.confirmed) v = (this.prevEnd || this.tempEnd || nextWindow) - move;
    else if (this.triggered) v = Math.max(this.lastEnd, this.soundStart - s.speechPadSamples);
    else v = Math.max(this.lastEnd, nextWindow - s.speechPadSamples - move);
    if (v > this.settled) this.settled = v;
  }
}
