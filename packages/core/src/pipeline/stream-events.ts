import type { AudioSource, Segment } from '@echopanel/plugin-api';

/** Per-stream sample accounting: received = transcribed + silence + dropped once the stream is done. */
export interface StreamStats {
  readonly receivedSamples: number;
  readonly transcribedSamples: number;
  /** Skipped without calling the engine: silence or a too-short tail. */
  readonly silenceSamples: number;
  /** Lost, each with a reason (see `dropReasons`). */
  readonly droppedSamples: number;
  /** Received but not yet accounted (in queues or in flight); 0 after `done`. */
  readonly pendingSamples: number;
  readonly finals: number;
  /**
   * Utterances (`vad` mode; a recording's pieces) the engine returned no text for — noise, or text its
   * hallucination guard removed: their audio counts as transcribed, and no final follows.
   */
  readonly textlessUtterances: number;
  readonly partials: number;
  /** Dropped samples by reason. */
  readonly dropReasons: Readonly<Record<string, number>>;
}

/** What a {@link StreamSession} reports. Times are seconds from the stream's first sample. */
export type StreamEvent =
  | {
      readonly type: 'partial';
      /** The latest hypothesis for the open utterance. */
      readonly text: string;
      /** Its prefix two successive decodes agreed on (only grows until the final). */
      readonly stable: string;
      readonly start: number;
      readonly end: number;
      /** The turn (see `turn-end`) the utterance belongs to. */
      readonly turn: number;
      readonly source?: AudioSource;
    }
  | { readonly type: 'final'; readonly segment: Segment; readonly turn: number }
  /**
   * `vad` mode: speech began in turn `turn`. Turns number what a client sees as one item of audio: each
   * utterance, or with `turnDetection: 'client'` everything between two commits.
   */
  | { readonly type: 'speech-start'; readonly turn: number; readonly start: number }
  /** Turn `turn`'s audio is complete (an endpoint, a length cut or a commit); its finals follow, then `turn-done`. */
  | { readonly type: 'turn-end'; readonly turn: number; readonly start: number; readonly end: number }
  /** Every final of turn `turn` was emitted; `failure` says why (some of) its audio was not transcribed. */
  | { readonly type: 'turn-done'; readonly turn: number; readonly failure?: { readonly code: string; readonly message: string } }
  /** A clear took effect: turn `turn`'s audio not yet ended was discarded (counted as dropped, `cleared`). */
  | { readonly type: 'cleared'; readonly turn: number }
  /** The stream's back-pressure changed: it started or stopped dropping audio because the engine is behind. */
  | { readonly type: 'status'; readonly backlogSeconds: number; readonly dropping: boolean }
  | { readonly type: 'error'; readonly code: string; readonly message: string; readonly recovered: boolean }
  | { readonly type: 'done'; readonly stats: StreamStats };
