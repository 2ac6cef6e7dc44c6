import type { VadEvent, VoiceActivityDetector } from '../plugin/vad.js';
import { SampleBuffer } from './sample-buffer.js';

/** What the segmenter decided about a range of samples (absolute indices, end exclusive). */
export type SegmenterOutput =
  | { readonly type: 'silence'; readonly start: number; readonly end: number }
  /** A closed speech segment; `forced` when it was cut at `maxSegmentSeconds` inside continuing speech. */
  | { readonly type: 'segment'; readonly start: number; readonly end: number; readonly pcm: Int16Array; readonly forced: boolean };

export interface VadSegmenterOptions {
  readonly sampleRate: number;
  /** Longest segment; longer speech is cut at its quietest window in the second half. */
  readonly maxSegmentSeconds: number;
  /**
   * Audio kept before the current position while no speech is open, because the detector reports a speech start
   * (padded, after its minimum speech time) somewhat in the past.
   */
  readonly preRollSeconds?: number;
}

/**
 * Cuts a stream into speech segments at the pauses a VAD finds. Every sample pushed comes out exactly once, as
 * silence or inside a segment, in order. Holds at most one open segment (≤ maxSegmentSeconds) plus the pre-roll.
 */
export class VadSegmenter {
  private readonly buffer = new SampleBuffer();
  private readonly maxSegment: number;
  private readonly preRoll: number;
  /** Everything before this index has been output. */
  private classified = 0;
  private segStart: number | undefined;
  /** Speech probability per window of the open segment, to find the quietest cut point. */
  private windows: { start: number; end: number; p: number }[] = [];

  constructor(
    private readonly detector: VoiceActivityDetector,
    options: VadSegmenterOptions,
  ) {
    this.maxSegment = Math.max(1, Math.round(options.maxSegmentSeconds * options.sampleRate));
    this.preRoll = Math.round((options.preRollSeconds ?? 1) * options.sampleRate);
  }

  /** Samples pushed so far. */
  get received(): number {
    return this.buffer.end;
  }

  /** Start of the open speech segment, if speech is going on. */
  get openStart(): number | undefined {
    return this.segStart;
  }

  /**
   * True when the open segment's latest window is below even speech probability: the speaker may be stopping,
   * and the segment may close within the VAD's minimum silence.
   */
  get trailingOff(): boolean {
    const last = this.windows.at(-1);
    return last !== undefined && last.p < 0.5;
  }

  /** A copy of the open segment's audio so far (for partial decodes). */
  openAudio(): Int16Array {
    return this.segStart === undefined ? new Int16Array(0) : this.buffer.slice(this.segStart, this.buffer.end);
  }

  async push(pcm: Int16Array): Promise<SegmenterOutput[]> {
    this.buffer.append(pcm);
    const result = await this.detector.push(pcm);
    const out: SegmenterOutput[] = [];
    let w = 0;
    for (const event of result.events) {
      // Windows up to the event belong to the state before it.
      const at = event.type === 'speech-start' ? event.sample : event.endSample;
      for (; w < result.windows.length && result.windows[w].endSample <= at; w++) this.recordWindow(result.windows[w]);
      this.onEvent(event, out);
    }
    for (; w < result.windows.length; w++) this.recordWindow(result.windows[w]);
    this.cutIfTooLong(out);
    // The detector knows how far back a later speech-start can reach; without that, keep the pre-roll.
    this.releaseSilence(out, this.detector.settledSample ?? this.buffer.end - this.preRoll);
    return out;
  }

  /** End of stream: closes open speech and outputs the rest as silence. */
  flush(): SegmenterOutput[] {
    const out: SegmenterOutput[] = [];
    for (const event of this.detector.flush().events) this.onEvent(event, out);
    if (this.segStart !== undefined) this.closeSegment(this.buffer.end, false, out);
    this.releaseSilence(out, this.buffer.end);
    return out;
  }

  /**
   * Gives up everything not yet output (stream aborted): returns the range [from, to) that was neither output as
   * silence nor in a segment, for the caller to count as dropped.
   */
  abandon(): { start: number; end: number } {
    const range = { start: this.classified, end: this.buffer.end };
    this.classified = this.buffer.end;
    this.segStart = undefined;
    this.windows = [];
    this.buffer.discardBefore(this.buffer.end);
    this.detector.reset();
    return range;
  }

  private recordWindow(win: { startSample: number; endSample: number; probability: number }): void {
    if (this.segStart !== undefined) this.windows.push({ start: win.startSample, end: win.endSample, p: win.probability });
  }

  private onEvent(event: VadEvent, out: SegmenterOutput[]): void {
    if (event.type === 'speech-start') {
      if (this.segStart !== undefined) return;
      const s = clamp(event.sample, this.classified, this.buffer.end);
      this.releaseSilence(out, s);
      this.segStart = s;
      this.windows = [];
    } else if (this.segStart !== undefined) {
      this.closeSegment(clamp(event.endSample, this.segStart, this.buffer.end), false, out);
    }
  }

  private closeSegment(end: number, forced: boolean, out: SegmenterOutput[]): void {
    const start = this.segStart!;
    if (end > start) out.push({ type: 'segment', start, end, pcm: this.buffer.slice(start, end), forced });
    this.classified = Math.max(this.classified, end);
    this.buffer.discardBefore(this.classified);
    if (forced) {
      this.segStart = end;
      this.windows = this.windows.filter((w) => w.start >= end);
    } else {
      this.segStart = undefined;
      this.windows = [];
    }
  }

  private cutIfTooLong(out: SegmenterOutput[]): void {
    while (this.segStart !== undefined && this.buffer.end - this.segStart >= this.maxSegment) {
      const limit = this.segStart + this.maxSegment;
      const half = this.segStart + Math.floor(this.maxSegment / 2);
      // Never mid-word if it can be helped: the least speech-like window in the second half of the allowed span.
      let best: { start: number; end: number; p: number } | undefined;
      for (const w of this.windows) {
        if (w.start < half || w.end > limit) continue;
        if (!best || w.p < best.p) best = w;
      }
      const cut = best ? Math.round((best.start + best.end) / 2) : limit;
      this.closeSegment(cut, true, out);
    }
  }

  private releaseSilence(out: SegmenterOutput[], upTo: number): void {
    if (this.segStart !== undefined) return;
    const end = Math.min(upTo, this.buffer.end);
    if (end > this.classified) {
      out.push({ type: 'silence', start: this.classified, end });
      this.classified = end;
    }
    this.buffer.discardBefore(this.classified);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}
