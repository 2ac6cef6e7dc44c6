import type { SessionStats, TranscriptionEvent } from '@echopanel/plugin-api';
import type { InferenceMetrics } from './inference-metrics.js';

/**
 * Counts sessions and samples by outcome for a provider's `health().sessions`; with the engine's metrics it also
 * counts each dropped chunk there (`health().droppedChunks`), so providers don't each re-implement that.
 */
export class SessionCounter {
  constructor(private readonly metrics?: InferenceMetrics) {}

  private active = 0;
  private total = 0;
  private received = 0;
  private transcribed = 0;
  private skipped = 0;
  private dropped = 0;

  /** Marks a session open; returns the event handler that counts its samples and the close function. */
  open(forward?: (e: TranscriptionEvent) => void): { onEvent: (e: TranscriptionEvent) => void; close: () => void } {
    this.active++;
    this.total++;
    let closed = false;
    return {
      onEvent: (e) => {
        if (e.type === 'transcribed') this.transcribed += e.samples;
        else if (e.type === 'skipped') this.skipped += e.samples;
        else if (e.type === 'dropped') {
          this.dropped += e.samples;
          this.metrics?.recordDroppedChunk();
        }
        if (e.type === 'transcribed' || e.type === 'skipped' || e.type === 'dropped') this.received += e.samples;
        forward?.(e);
      },
      close: () => {
        if (!closed) {
          closed = true;
          this.active--;
        }
      },
    };
  }

  snapshot(): SessionStats {
    return {
      active: this.active,
      total: this.total,
      receivedSamples: this.received,
      transcribedSamples: this.transcribed,
      skippedSamples: this.skipped,
      droppedSamples: this.dropped,
    };
  }
}
