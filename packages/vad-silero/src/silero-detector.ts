import { InferenceQueue } from '@echopanel/engine-kit';
import type { VadEvent, VadResult, VadWindow, VoiceActivityDetector } from '@echopanel/plugin-api';
import type { SileroRunner } from './silero-model.js';
import { SpeechSegmenter, type SegmenterSettings } from './speech-segmenter.js';
import { BLOCKS_PER_WINDOW, levelDb } from './speech-edges.js';

export interface SileroDetectorOptions {
  /** Report every window's probability in `push` results (default true; off saves an object per window). */
  readonly windows?: boolean;
}

const NO_WINDOWS: readonly VadWindow[] = Object.freeze([]);
const NO_EVENTS: readonly VadEvent[] = Object.freeze([]);
const EMPTY: VadResult = Object.freeze({ windows: NO_WINDOWS, events: NO_EVENTS });

/**
 * Streaming Silero detector for one stream. PCM of any frame size is cut into model windows internally, so
 * the events do not depend on how the stream was framed. Pushes are serialized (a push made while another
 * is running waits for it).
 */
export class SileroDetector implements VoiceActivityDetector {
  readonly sampleRate: number;
  readonly windowSamples: number;
  private readonly segmenter: SpeechSegmenter;
  private runner: SileroRunner | undefined;
  private filled = 0;
  private received = 0;
  private readonly pushes = new InferenceQueue(1);
  private readonly collectWindows: boolean;
  /** Events of the current push; reused so a push without events allocates nothing. */
  private readonly scratch: VadEvent[] = [];
  /** Block levels of the current window, when the segmenter refines boundaries. */
  private readonly levels: Float64Array | undefined;

  /** `getRunner` supplies the model state lazily (the engine may still be loading when the detector is made). */
  constructor(
    sampleRate: 16000 | 8000,
    settings: SegmenterSettings,
    private readonly getRunner: () => Promise<SileroRunner>,
    options: SileroDetectorOptions = {},
  ) {
    this.sampleRate = sampleRate;
    this.windowSamples = settings.windowSamples;
    this.segmenter = new SpeechSegmenter(settings);
    this.collectWindows = options.windows ?? true;
    if (settings.refineBoundaries) this.levels = new Float64Array(BLOCKS_PER_WINDOW);
  }

  /** Samples received so far in this stream. */
  get receivedSamples(): number {
    return this.received;
  }

  /**
   * Samples before this offset are decided: each lies inside a segment whose start has been reported, or is
   * silence no later event will claim. Lets a caller release buffered silence early.
   */
  get settledSample(): number {
    return this.segmenter.settledSample;
  }

  push(pcm: Int16Array): Promise<VadResult> {
    return this.pushes.run(() => this.pushNow(pcm));
  }

  /**
   * Closes open speech at the stream's end (Silero's rule: it ends at the last sample). The trailing partial
   * window (< 32 ms) is not analysed: it is too short to start speech, and open speech runs to the end anyway.
   * The detector is then reset for a new stream.
   */
  flush(): VadResult {
    const events: VadEvent[] = [];
    this.segmenter.finish(this.received, events);
    this.resetCounters();
    return events.length === 0 ? EMPTY : { windows: NO_WINDOWS, events };
  }

  reset(): void {
    this.segmenter.reset();
    this.resetCounters();
  }

  private resetCounters(): void {
    this.filled = 0;
    this.received = 0;
    this.scratch.length = 0;
    this.runner?.reset();
  }

  private async pushNow(pcm: Int16Array): Promise<VadResult> {
    // After the engine was unloaded the next push reloads it; the stream's model state restarts from zero.
    if (!this.runner || this.runner.stale) this.runner = await this.getRunner();
    const runner = this.runner;
    const w = this.windowSamples;
    const win = runner.window;
    let windows: VadWindow[] | undefined;
    let off = 0;
    while (off < pcm.length) {
      const take = Math.min(w - this.filled, pcm.length - off);
      for (let i = 0; i < take; i++) win[this.filled + i] = pcm[off + i] / 32768;
      this.filled += take;
      off += take;
      this.received += take;
      if (this.filled < w) break;
      this.filled = 0;
      const levels = this.levels;
      if (levels) {
        const block = w / BLOCKS_PER_WINDOW;
        for (let b = 0; b < BLOCKS_PER_WINDOW; b++) levels[b] = levelDb(win, b * block, (b + 1) * block);
      }
      const prob = await runner.run();
      if (this.collectWindows) {
        (windows ??= []).push({ probability: prob, startSample: this.received - w, endSample: this.received });
      }
      this.segmenter.step(prob, this.scratch, levels);
    }
    const events = this.scratch.length > 0 ? this.scratch.splice(0) : NO_EVENTS;
    if (!windows && events === NO_EVENTS) return EMPTY;
    return { windows: windows ?? NO_WINDOWS, events };
  }
}
