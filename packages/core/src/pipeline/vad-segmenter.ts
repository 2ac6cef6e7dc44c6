import type { VadEvent, VadResult, VoiceActivityDetector } from '@echopanel/plugin-api';
import { SampleBuffer } from '@echopanel/engine-kit';
import { levelDb, SoundLevelTracker } from './sound-level.js';

/** Below this speech probability (and not sound by level) a window is a pause (Silero's negative threshold). */
const PAUSE_PROBABILITY = 0.35;
/** Sound the VAD does not call speech opens an utterance after this much of it … */
const SOUND_OPENS_SECONDS = 0.3;
/** … with gaps no longer than this between its windows. */
const SOUND_GAP_SECONDS = 0.3;

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
  /**
   * Audio before the detected speech start that goes into the segment (OpenAI's `prefix_padding_ms`): the VAD
   * hears an unvoiced onset ("Speech", "Five") late, the recognizer needs it (default 0.3).
   */
  readonly prefixPaddingSeconds?: number;
  /**
   * Silence that ends an utterance (OpenAI's `silence_duration_ms`): a shorter pause — a breath, a comma —
   * merges into the open utterance, up to `maxSegmentSeconds` (default 0.5). `Infinity`: only {@link commit}
   * (or the length limit) ends one.
   */
  readonly endpointSilenceSeconds?: number;
  /** Audio after the detected speech end that goes into the segment (default 0.2, at most the endpoint silence). */
  readonly suffixPaddingSeconds?: number;
}

/**
 * Cuts a stream into speech segments at the pauses a VAD finds. Every sample pushed comes out exactly once, as
 * silence or inside a segment, in order. Holds at most one open segment (≤ maxSegmentSeconds) plus the pre-roll.
 */
export class VadSegmenter {
  private readonly buffer = new SampleBuffer();
  private readonly maxSegment: number;
  private readonly preRoll: number;
  private readonly prefix: number;
  private readonly endpoint: number;
  private readonly suffix: number;
  /** Start of the current pause in the open segment (no speech, no sound), while shorter than the endpoint. */
  private pauseStart: number | undefined;
  private readonly sound = new SoundLevelTracker();
  /** While no segment is open: sound the VAD has not called speech (start, amount, last sound window's end). */
  private soundRun: { start: number; samples: number; last: number } | undefined;
  private readonly soundOpens: number;
  private readonly soundGap: number;
  /** Everything before this index has been output. */
  private classified = 0;
  /** Where the detector's sample 0 is in the stream: it counts from 0 again after a reset (see {@link abandon}). */
  private detectorOffset = 0;
  private segStart: number | undefined;
  /** Speech probability per window of the open segment, to find the quietest cut point. */
  private windows: { start: number; end: number; p: number }[] = [];

  constructor(
    private readonly detector: VoiceActivityDetector,
    options: VadSegmenterOptions,
  ) {
    this.maxSegment = Math.max(1, Math.round(options.maxSegmentSeconds * options.sampleRate));
    this.preRoll = Math.round((options.preRollSeconds ?? 1) * options.sampleRate);
    this.prefix = Math.round((options.prefixPaddingSeconds ?? 0.3) * options.sampleRate);
    this.endpoint = Math.round((options.endpointSilenceSeconds ?? 0.5) * options.sampleRate);
    this.suffix = Math.min(this.endpoint, Math.round((options.suffixPaddingSeconds ?? 0.2) * options.sampleRate));
    this.soundOpens = Math.round(SOUND_OPENS_SECONDS * options.sampleRate);
    this.soundGap = Math.round(SOUND_GAP_SECONDS * options.sampleRate);
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
    return this.pauseStart !== undefined || (last !== undefined && last.p < 0.5);
  }

  /**
   * While the open utterance is in a pause shorter than the endpoint silence: where the segment would end if
   * the pause turns out to be its end (speech end + suffix padding), once that much audio has arrived. A caller
   * may decode that range ahead; the segment closes with exactly this end unless speech resumes.
   */
  get tentativeEnd(): number | undefined {
    if (this.pauseStart === undefined) return undefined;
    const end = this.pauseStart + this.suffix;
    return end <= this.buffer.end ? end : undefined;
  }

  /** A copy of the open segment's audio so far, or up to `end` (for partial decodes and decoding ahead). */
  openAudio(end = this.buffer.end): Int16Array {
    return this.segStart === undefined ? new Int16Array(0) : this.buffer.slice(this.segStart, Math.min(end, this.buffer.end));
  }

  async push(pcm: Int16Array): Promise<SegmenterOutput[]> {
    this.buffer.append(pcm);
    const result = shiftResult(await this.detector.push(pcm), this.detectorOffset);
    const out: SegmenterOutput[] = [];
    let w = 0;
    for (const event of result.events) {
      // Windows up to the event belong to the state before it.
      const at = event.type === 'speech-start' ? event.sample : event.endSample;
      for (; w < result.windows.length && result.windows[w].endSample <= at; w++) this.onWindow(result.windows[w], out);
      this.onEvent(event, out);
    }
    for (; w < result.windows.length; w++) this.onWindow(result.windows[w], out);
    if (this.pauseStart !== undefined && this.buffer.end - this.pauseStart >= this.endpoint) {
      this.closeSegment(this.pauseStart + this.suffix, false, out);
    }
    this.cutIfTooLong(out);
    // The detector knows how far back a later speech-start can reach; without that, keep the pre-roll. The
    // prefix padding of that start (or of sound that may yet open one) must still be there too.
    const detectorSettled = this.detector.settledSample;
    const settled = Math.min(detectorSettled === undefined ? this.buffer.end - this.preRoll : detectorSettled + this.detectorOffset, this.soundRun?.start ?? Infinity);
    this.releaseSilence(out, settled - this.prefix);
    return out;
  }

  /**
   * One analysed window: the VAD's probability and the window's level. Ends of utterances are decided here —
   * a pause starts at the first window that is neither speech nor sound — and sound the VAD misses (a whisper,
   * a creaky or falsetto voice) opens an utterance after {@link SOUND_OPENS_SECONDS}.
   */
  private onWindow(win: { startSample: number; endSample: number; probability: number }, out: SegmenterOutput[]): void {
    this.recordWindow(win);
    const from = Math.max(win.startSample, this.buffer.start);
    const level = from < win.endSample ? this.sound.observe(levelDb(this.buffer.slice(from, win.endSample))) : 'between';
    const isSound = level === 'sound';
    if (this.segStart !== undefined) {
      // Back at the background level the speaker has stopped, whatever the VAD's probability still says (it lags
      // 40–130 ms behind the last sound, and every ms of it delays the final).
      const paused = level === 'quiet' || (win.probability < PAUSE_PROBABILITY && !isSound);
      if (!paused) this.pauseStart = undefined;
      else this.pauseStart ??= win.startSample;
      return;
    }
    if (isSound) {
      this.soundRun ??= { start: win.startSample, samples: 0, last: win.endSample };
      this.soundRun.samples += win.endSample - win.startSample;
      this.soundRun.last = win.endSample;
      if (this.soundRun.samples >= this.soundOpens) this.open(this.soundRun.start, out);
    } else if (this.soundRun && win.endSample - this.soundRun.last > this.soundGap) {
      this.soundRun = undefined;
    }
  }

  private open(at: number, out: SegmenterOutput[]): void {
    const s = clamp(at - this.prefix, this.classified, this.buffer.end);
    this.releaseSilence(out, s);
    this.segStart = s;
    this.pauseStart = undefined;
    this.soundRun = undefined;
    this.windows = [];
  }

  /** End of stream: closes open speech and outputs the rest as silence. */
  flush(): SegmenterOutput[] {
    const out: SegmenterOutput[] = [];
    for (const event of shiftResult(this.detector.flush(), this.detectorOffset).events) this.onEvent(event, out);
    if (this.segStart !== undefined) {
      const end = this.pauseStart === undefined ? this.buffer.end : Math.min(this.buffer.end, this.pauseStart + this.suffix);
      this.closeSegment(end, false, out);
    }
    this.releaseSilence(out, this.buffer.end);
    return out;
  }

  /**
   * The caller ends the utterance here (a client's commit): open speech closes at the pause it is in, or at the
   * current position — speech still going on then continues in a new segment — and the rest is output as
   * silence, since nothing after a commit may reach back before it.
   */
  commit(): SegmenterOutput[] {
    const out: SegmenterOutput[] = [];
    if (this.segStart !== undefined) {
      if (this.pauseStart !== undefined) this.closeSegment(Math.min(this.buffer.end, this.pauseStart + this.suffix), false, out);
      else this.closeSegment(this.buffer.end, true, out);
    }
    this.soundRun = undefined;
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
    this.pauseStart = undefined;
    this.soundRun = undefined;
    this.sound.reset();
    this.windows = [];
    this.buffer.discardBefore(this.buffer.end);
    this.detector.reset();
    this.detectorOffset = this.buffer.end;
    return range;
  }

  private recordWindow(win: { startSample: number; endSample: number; probability: number }): void {
    if (this.segStart !== undefined) this.windows.push({ start: win.startSample, end: win.endSample, p: win.probability });
  }

  private onEvent(event: VadEvent, out: SegmenterOutput[]): void {
    // Ends are decided per window (see onWindow): the VAD's own end may fall inside sound it does not call speech.
    if (event.type === 'speech-start' && this.segStart === undefined) this.open(Math.min(event.sample, this.soundRun?.start ?? Infinity), out);
  }

  private closeSegment(end: number, forced: boolean, out: SegmenterOutput[]): void {
    const start = this.segStart!;
    if (end > start) out.push({ type: 'segment', start, end, pcm: this.buffer.slice(start, end), forced });
    this.classified = Math.max(this.classified, end);
    this.buffer.discardBefore(this.classified);
    this.pauseStart = undefined;
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
      // In a pause already: end the utterance there rather than cut into speech.
      if (this.pauseStart !== undefined) {
        this.closeSegment(Math.min(this.buffer.end, this.pauseStart + this.suffix), false, out);
        break;
      }
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

/** A detector result with its sample indices moved by `offset` onto the stream's. */
function shiftResult(r: VadResult, offset: number): VadResult {
  if (offset === 0) return r;
  return {
    windows: r.windows.map((w) => ({ ...w, startSample: w.startSample + offset, endSample: w.endSample + offset })),
    events: r.events.map((e) =>
      e.type === 'speech-start' ? { ...e, sample: e.sample + offset } : { ...e, startSample: e.startSample + offset, endSample: e.endSample + offset },
    ),
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}
