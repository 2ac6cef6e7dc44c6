import { SampleBuffer } from '@echopanel/engine-kit';
import type { VadEngine, VadEvent } from '@echopanel/plugin-api';
import type { VadStatsCollector } from './vad-stats.js';

/** What the gate decided about a run of samples (sample offsets from the start of the gated audio). */
export type GateItem =
  | { readonly kind: 'silence'; readonly from: number; readonly to: number }
  | {
      readonly kind: 'speech';
      readonly from: number;
      readonly to: number;
      /** The samples; a view valid until the gate is resumed (copy to keep). */
      readonly pcm: Int16Array;
      /** Padded start of the segment this run belongs to. */
      readonly segmentStart: number;
      /** The run ends its segment. */
      readonly last: boolean;
    };

export interface GateOptions {
  readonly vad: VadEngine;
  readonly sampleRate: number;
  /**
   * `false`: one item per complete speech segment (for `decode`). `true`: speech as soon as it is certain, in
   * runs (for a speech-only stream).
   */
  readonly incremental: boolean;
  /** Report silence at least this often (samples) during a long pause. */
  readonly silenceReportSamples: number;
  /** For detectors without `settledSample`: audio kept for late `speech-start` events (samples). */
  readonly lookbackSamples: number;
  readonly stats: VadStatsCollector;
  /** When the consumer stops early: silence decided but not yet yielded. */
  readonly onSilenceLeft: (from: number, to: number) => void;
  /** When the consumer stops early: samples read but not decided. */
  readonly onUnaccounted: (from: number, to: number) => void;
}

/**
 * Runs a VAD detector over frames and yields every sample exactly once, as silence or speech, in order. Only
 * undecided audio is buffered: the open segment (when whole segments are wanted) plus the detector's lookahead.
 */
export async function* speechGate(frames: AsyncIterable<Int16Array>, o: GateOptions): AsyncGenerator<GateItem> {
  const detector = o.vad.createDetector(detectorOptions(o.sampleRate));
  const buf = new SampleBuffer(o.sampleRate);
  let received = 0;
  let accounted = 0;
  let silenceStart = 0;
  let open: number | undefined;

  function* silenceTo(x: number, report: boolean): Generator<GateItem> {
    if (x > accounted) accounted = x;
    if (accounted > silenceStart && (report || accounted - silenceStart >= o.silenceReportSamples)) {
      const item: GateItem = { kind: 'silence', from: silenceStart, to: accounted };
      silenceStart = accounted;
      yield item;
    }
  }

  function* handle(events: readonly VadEvent[]): Generator<GateItem> {
    for (const ev of events) {
      if (ev.type === 'speech-start') {
        yield* silenceTo(ev.sample, true);
        open = Math.max(ev.sample, accounted);
      } else {
        const from = accounted;
        const to = Math.max(from, ev.endSample);
        const segmentStart = open ?? from;
        accounted = to;
        silenceStart = to;
        open = undefined;
        const pcm = o.incremental ? buf.view(from, to) : buf.slice(from, to);
        yield { kind: 'speech', from, to, pcm, segmentStart, last: true };
      }
    }
  }

  try {
    for await (const frame of frames) {
      buf.append(frame);
      received += frame.length;
      o.stats.totalFrames += frame.length;
      const t0 = performance.now();
      const result = await detector.push(frame);
      o.stats.vadMs += performance.now() - t0;
      yield* handle(result.events);
      const settled = detector.settledSample ?? Math.max(accounted, received - o.lookbackSamples);
      if (open === undefined) yield* silenceTo(Math.min(settled, received), false);
      else if (o.incremental && settled > accounted) {
        const from = accounted;
        const to = Math.min(settled, received);
        accounted = to;
        yield { kind: 'speech', from, to, pcm: buf.view(from, to), segmentStart: open, last: false };
      }
      buf.discardBefore(accounted);
    }
    yield* handle(detector.flush().events);
    yield* silenceTo(received, true);
  } finally {
    if (open === undefined && accounted > silenceStart) o.onSilenceLeft(silenceStart, accounted);
    if (received > accounted) o.onUnaccounted(accounted, received);
    detector.reset();
  }
}

function detectorOptions(sampleRate: number): { sampleRate: number } {
  // `windows: false` is a Silero detector option (no per-window objects); other engines ignore it.
  const options = { sampleRate, windows: false };
  return options;
}
