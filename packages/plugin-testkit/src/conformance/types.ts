import type { ASRProvider, Availability, PluginContext, Segment } from '@echopanel/plugin-api';

/** The checks of the provider conformance kit, in the order they run. */
export const CONFORMANCE_CHECKS = [
  'plugin-shape',
  'create',
  'availability',
  'unavailable-reasons',
  'load-unload',
  'transcribes-speech',
  'segment-times',
  'finals-not-revised',
  'frame-sizes',
  'silence',
  'concurrent-streams',
  'cancellation',
  'error-codes',
  'decode',
  'decode-batch',
  'decode-recording',
  'unload-during-stream',
] as const;

export type ConformanceCheckId = (typeof CONFORMANCE_CHECKS)[number];

/** One utterance with a known transcript (16 kHz mono s16). */
export interface Utterance {
  readonly text: string;
  readonly samples: Int16Array;
}

/**
 * Audio the kit transcribes and scores. The default is speech synthesized with espeak-ng from
 * {@link SPEECH_SENTENCES}; an engine that does not recognize speech (a stand-in binary, a tone decoder) gives its
 * own, and the report names it.
 */
export interface ConformanceCorpus {
  /** Shown in the report, e.g. `espeak-ng speech` or `DTMF digits`. */
  readonly name: string;
  /**
   * At least 4 utterances and 40 reference words in all (the WER bound is pooled over them). The single-stream
   * checks use the third (load/unload, frame sizes, after an unload), the third and fourth (concurrent streams)
   * and the second (decode): put ones your engine hears reliably there.
   */
  readonly utterances: readonly Utterance[];
}

export interface ConformanceOptions {
  /** The plugin's config slice as a user writes it (`providers.<name>`); default `{}`. */
  readonly config?: unknown;
  /**
   * A config slice that makes the provider unavailable (a missing binary, model or interpreter): the kit checks
   * that `availability()` then says why and what to do, and that `load()` fails with a code. Without it the
   * `unavailable-reasons` check is skipped, saying so.
   */
  readonly unavailableConfig?: unknown;
  /** What `create` gets; the defaults are a silent logger, the current directory, `python3` and no model store. */
  readonly context?: Partial<PluginContext>;
  /** Audio with known transcripts (default: espeak-ng speech of the four SPEECH_SENTENCES). */
  readonly corpus?: ConformanceCorpus | (() => ConformanceCorpus | Promise<ConformanceCorpus>);
  /** Pooled WER bound for `transcribes-speech` and `decode-recording` (default 0.45: tiny models on espeak speech through fixed chunks). */
  readonly werBound?: number;
  /** How long a stream may take to end after its abort signal fires or `unload()` is called (default 10 000 ms). */
  readonly promptMs?: number;
  /** Time limit of one check, after which it fails instead of hanging the run (default 180 000 ms). */
  readonly checkTimeoutMs?: number;
  /**
   * Checks this provider does not claim to pass, each with the reason (shown in every report). A check is never
   * skipped silently: without a reason here it runs.
   */
  readonly skip?: Partial<Record<ConformanceCheckId, string>>;
}

export type ConformanceStatus = 'passed' | 'failed' | 'skipped';

/** The result of one named check. */
export interface ConformanceCheckResult {
  readonly id: ConformanceCheckId;
  /** What the check asserts, in a line. */
  readonly title: string;
  readonly status: ConformanceStatus;
  /** Passed: what was measured; failed: what went wrong; skipped: why. */
  readonly detail: string;
  readonly durationMs: number;
}

export interface ConformanceReport {
  readonly plugin: string;
  readonly corpus: string;
  readonly results: readonly ConformanceCheckResult[];
  /** No check failed. */
  readonly passed: boolean;
}

/** One transcribed stream, as the checks inspect it. */
export interface StreamRun {
  readonly label: string;
  readonly reference: string;
  readonly durationSeconds: number;
  readonly segments: readonly Segment[];
  readonly finalText: string;
}

/** What the checks share: one created, loaded provider for the whole run. */
export interface ConformanceState {
  provider?: ASRProvider;
  availability?: Availability;
  corpus?: ConformanceCorpus;
  /** Why the corpus could not be made (espeak-ng missing, too few words). */
  corpusError?: string;
  speechRuns: StreamRun[];
  /** Why the checks that need a working provider cannot run (set by the check that failed). */
  blocked?: string;
  /** plugin-shape failed: nothing else can run. */
  invalidPlugin?: boolean;
}
