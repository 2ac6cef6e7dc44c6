import { round3, type Segment, type TranscriptionEvent } from '@echopanel/plugin-api';

export interface DropGateOptions {
  readonly sampleRate: number;
  /** Length of the alternating keep/drop windows (the chunk length; read per window so it can change). */
  readonly windowSeconds: number | (() => number);
  /** Told about every dropped range (stream times), so the stream's accounting stays complete. */
  readonly onEvent?: (event: TranscriptionEvent) => void;
}

/** One stream's view through the drop policy: the audio to send on, and time mapping back to the stream. */
export interface DropGate {
  /** The audio with dropped windows removed. */
  readonly audio: AsyncIterable<Int16Array>;
  /** Seconds in the provider's timeline (audio after the gate) → seconds in the stream. */
  mapTime(seconds: number): number;
  mapSegment(segment: Segment): Segment;
  /** Maps an accounting event's times from the provider's timeline to the stream's. */
  mapEvent(event: TranscriptionEvent): TranscriptionEvent;
  /** Samples this gate dropped. */
  readonly droppedSamples: number;
}

/**
 * EMERGENCY chunk dropping: while enabled, every other window of audio is not sent to the provider. Dropped
 * samples are reported as `dropped` events (never silently lost) and the provider's timestamps are mapped back
 * so segments after a dropped window keep their true stream times. One policy is shared by all streams.
 */
export class DropPolicy {
  enabled = false;
  private dropped = 0;
  private windows = 0;

  /** Samples dropped by all gates. */
  get droppedSamples(): number {
    return this.dropped;
  }

  get droppedWindows(): number {
    return this.windows;
  }

  gate(source: AsyncIterable<Int16Array>, options: DropGateOptions): DropGate {
    const rate = options.sampleRate;
    const windowSamples = () => {
      const s = typeof options.windowSeconds === 'function' ? options.windowSeconds() : options.windowSeconds;
      return Math.max(1, Math.round(s * rate));
    };
    // (provider sample position at which a drop happened, total dropped up to and including it)
    const offsets: { at: number; total: number }[] = [];
    let streamPos = 0;
    let passed = 0;
    let droppedHere = 0;
    let windowIndex = 0;
    let windowLeft = windowSamples();
    let open: { start: number; samples: number } | undefined;
    const self = this;

    const closeDrop = () => {
      if (!open) return;
      const ev: TranscriptionEvent = {
        type: 'dropped',
        samples: open.samples,
        reason: 'degrade ladder EMERGENCY: dropping every other chunk',
        start: open.start / rate,
        end: (open.start + open.samples) / rate,
      };
      open = undefined;
      self.windows++;
      options.onEvent?.(ev);
    };

    async function* run(): AsyncGenerator<Int16Array> {
      try {
        for await (const frame of source) {
          let off = 0;
          while (off < frame.length) {
            const take = Math.min(windowLeft, frame.length - off);
            const drop = self.enabled && windowIndex % 2 === 1;
            const piece = frame.subarray(off, off + take);
            if (drop) {
              open ??= { start: streamPos, samples: 0 };
              open.samples += take;
              droppedHere += take;
              self.dropped += take;
              const last = offsets[offsets.length - 1];
              if (last && last.at === passed) last.total = droppedHere;
              else offsets.push({ at: passed, total: droppedHere });
            } else {
              closeDrop();
              passed += take;
              yield piece;
            }
            streamPos += take;
            off += take;
            windowLeft -= take;
            if (windowLeft === 0) {
              windowIndex++;
              windowLeft = windowSamples();
            }
          }
        }
      } finally {
        closeDrop();
      }
    }

    // A start exactly at a drop point belongs to the audio after the dropped window, an end to the audio before.
    const map = (seconds: number, isEnd: boolean) => {
      const p = seconds * rate;
      let total = 0;
      for (const o of offsets) {
        if (isEnd ? o.at < p - 1e-6 : o.at <= p + 1e-6) total = o.total;
        else break;
      }
      return round3((p + total) / rate);
    };
    const mapTime = (seconds: number) => map(seconds, false);

    return {
      audio: run(),
      mapTime,
      mapSegment: (s) => ({
        ...s,
        start: map(s.start, false),
        end: map(s.end, true),
        ...(s.words ? { words: s.words.map((w) => ({ ...w, start: map(w.start, false), end: map(w.end, true) })) } : {}),
      }),
      mapEvent: (e) => ('start' in e ? { ...e, start: map(e.start, false), end: map(e.end, true) } : e),
      get droppedSamples() {
        return droppedHere;
      },
    };
  }
}
