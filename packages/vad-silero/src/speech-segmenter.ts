import type { VadEvent } from '@echopanel/core';
import { TrailingSilenceTrimmer } from './trailing-silence.js';

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
  /** Move each end back over trailing windows no louder than the silence after them (needs block levels). */
  readonly trimTrailingSilence: boolean;
}

export interface SegmenterTimings {
  readonly threshold: number;
  readonly negThreshold?: number;
  readonly minSpeechMs: number;
  readonly minSilenceMs: number;
  readonly speechPadMs: number;
  readonly maxSpeechSeconds: number;
  /** Default false: Silero's own ends. */
  readonly trimTrailingSilence?: boolean;
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
    trimTrailingSilence: t.trimTrailingSilence ?? false,
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
  private readonly trimmer: TrailingSilenceTrimmer | undefined;

  constructor(readonly settings: SegmenterSettings) {
    if (settings.trimTrailingSilence) this.trimmer = new TrailingSilenceTrimmer(settings.windowSamples);
  }

  /** Samples before this offset are decided: inside an announced segment or silence for good. */
  get settledSample(): number {
    return this.settled;
  }

  /**
   * Feeds the next window's probability; appends the events it causes to `out`. With `trimTrailingSilence`,
   * `levels` are the window's four 8 ms block levels in dBFS, given for every window.
   */
  step(prob: number, out: VadEvent[], levels?: ArrayLike<number>): void {
    const s = this.settings;
    const cur = s.windowSamples * this.windowIndex++;
    if (levels) this.trimmer?.observe(levels);
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
    this.trimmer?.reset();
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
      this.confirmed = false;
      return;
    }
    if (this.triggered && cur - this.curStart > s.maxSpeechSamples) {
      if (this.prevEnd) {
        this.close(this.curStart, this.prevEnd, true, out);
        if (this.nextStart < this.prevEnd) this.triggered = false;
        else {
          this.curStart = this.nextStart;
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
        this.trimmer?.markSilenceStart(cur);
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
    if (this.pending) {
      const gap = this.curStart - this.pending.rawEnd;
      if (gap < 2 * pad) {
        const half = Math.floor(gap / 2);
        this.emitEnd(this.pending.rawEnd + half, out);
        paddedStart = Math.max(0, this.curStart - half);
      } else {
        this.emitEnd(this.pending.rawEnd + pad, out);
        paddedStart = Math.max(0, this.curStart - pad);
      }
    } else {
      paddedStart = Math.max(0, this.curStart - pad);
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
    if (!this.confirmed) {
      this.curStart = start;
      this.confirm(out);
    }
    this.confirmed = false;
    // Which segments exist is Silero's decision (above); only where a natural end lies is refined.
    const end = !force && this.trimmer ? this.trimmer.refine(rawEnd, start + this.settings.minSpeechSamples) : rawEnd;
    this.pending = { paddedStart: this.openPaddedStart, rawEnd: end };
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
    if (this.pending) v = this.pending.rawEnd;
    // A trimmed end can move back over the last few windows: they stay undecided until the end is known.
    else if (this.triggered && this.confirmed) v = (this.prevEnd || this.tempEnd || nextWindow) - (this.trimmer?.maxTrimSamples ?? 0);
    else if (this.triggered) v = Math.max(this.lastEnd, this.curStart - s.speechPadSamples);
    else v = Math.max(this.lastEnd, nextWindow - s.speechPadSamples);
    if (v > this.settled) this.settled = v;
  }
}
