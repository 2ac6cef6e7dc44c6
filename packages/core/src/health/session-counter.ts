import type { TranscriptionEvent } from '@echopanel/plugin-api';
import type { SessionStats } from './provider-health.js';

/** One open session of a {@link SessionCounter}. */
export interface SessionHandle {
  /** Counts an accounting event and forwards every event to the session's listener. */
  readonly onEvent: (e: TranscriptionEvent) => void;
  /** Counts an accounting event without forwarding it (what a caller settles on its own, e.g. by replaying it). */
  readonly count: (e: TranscriptionEvent) => void;
  readonly close: () => void;
}

/** Counts sessions and their samples by outcome (the host's accounting: `health().sessions`, `/model-status`). */
export class SessionCounter {
  private active = 0;
  private total = 0;
  private received = 0;
  private transcribed = 0;
  private skipped = 0;
  private dropped = 0;

  /** Marks a session open; returns its handle. */
  open(forward?: (e: TranscriptionEvent) => void): SessionHandle {
    this.active++;
    this.total++;
    let closed = false;
    const count = (e: TranscriptionEvent) => {
      if (e.type === 'transcribed') this.transcribed += e.samples;
      else if (e.type === 'skipped') this.skipped += e.samples;
      else if (e.type === 'dropped') this.dropped += e.samples;
      else return;
      this.received += e.samples;
    };
    return {
      onEvent: (e) => {
        count(e);
        forward?.(e);
      },
      count,
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
