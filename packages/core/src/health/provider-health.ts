import type { ASRProvider, ModelState } from '@echopanel/plugin-api';
import type { DecodeSchedulerStats } from '../scheduling/decode-scheduler.js';

export interface MemoryUsage {
  /** RSS of this Node process. */
  readonly processRssBytes: number;
  /** RSS of worker processes the provider owns (0 when in-process). */
  readonly workerRssBytes: number;
  /** Estimate of what the loaded model occupies. */
  readonly modelResidentBytes?: number;
}

/** Streams through one provider and their samples; received = transcribed + skipped + dropped once they end. */
export interface SessionStats {
  readonly active: number;
  readonly total: number;
  readonly receivedSamples: number;
  readonly transcribedSamples: number;
  readonly skippedSamples: number;
  readonly droppedSamples: number;
}

/**
 * A provider's health as the host reports it (`/model-status`, `/metrics`, the degrade ladder): timings and
 * accounting measured by the host around its calls, with what the provider's optional `health()` report adds.
 */
export interface ProviderHealth {
  readonly provider: string;
  readonly state: ModelState;
  /** Processing time / audio time over the sliding window (< 1 is faster than real time). */
  readonly rtf: number;
  /** Latency of one-shot decodes, and of stream segments (from their audio's arrival to the segment). */
  readonly avgInferMs: number;
  readonly p50InferMs: number;
  readonly p95InferMs: number;
  readonly p99InferMs: number;
  readonly inferences: number;
  /** Calls in the provider (running or waiting for it). */
  readonly backlog: number;
  /** Seconds of stream audio handed to the provider beyond the end of its latest segment, over all streams. */
  readonly backlogSeconds: number;
  readonly droppedChunks: number;
  readonly modelResident: boolean;
  readonly loadedAt?: string;
  readonly loadMs?: number;
  readonly consecutiveErrors: number;
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: string };
  readonly restarts: number;
  readonly workerPid?: number;
  readonly memory: MemoryUsage;
  readonly sessions: SessionStats;
  /** How one-shot decodes queue for the engine (providers with `decode`). */
  readonly scheduler?: DecodeSchedulerStats;
  /** Provider-specific extras (from its report) and the host's (warmup, probes). */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Warmup duration (set by the lifecycle manager). */
  readonly warmupMs?: number;
  /** The last errors, oldest first (the lifecycle manager keeps 10). */
  readonly errorHistory?: readonly ErrorRecord[];
  /** Degrade ladder state, when a ladder watches this provider. */
  readonly degrade?: DegradeHealth;
  /** Failover state, when this is a primary/fallback pair. */
  readonly failover?: FailoverHealth;
}

/** One remembered error. */
export interface ErrorRecord {
  readonly code: string;
  readonly message: string;
  /** ISO time. */
  readonly at: string;
  /** What was going on (e.g. `load`, `warmup`, `transcribe`). */
  readonly phase?: string;
}

/** Degrade ladder levels, mildest first. */
export type DegradeLevelName = 'NORMAL' | 'WARNING' | 'DEGRADE' | 'EMERGENCY' | 'FAILOVER';

/** One level change of the degrade ladder. */
export interface DegradeLevelChange {
  readonly from: DegradeLevelName;
  readonly to: DegradeLevelName;
  /** ISO time. */
  readonly at: string;
  readonly reason: string;
  /** RTF that caused it (when RTF did). */
  readonly rtf?: number;
  /** Actions applied (degrading) or reverted (recovering), with failures. */
  readonly actions: readonly { readonly name: string; readonly ok: boolean; readonly detail?: string }[];
}

export interface DegradeHealth {
  readonly enabled: boolean;
  readonly level: DegradeLevelName;
  /** ISO time the current level was entered. */
  readonly since: string;
  /** Last RTF observed by the ladder. */
  readonly rtf?: number;
  /** Actions in force, oldest first. */
  readonly activeActions: readonly string[];
  /** Samples dropped by the EMERGENCY drop policy. */
  readonly droppedSamples: number;
  /** Recent level changes, oldest first. */
  readonly history: readonly DegradeLevelChange[];
}

export interface FailoverHealth {
  /** Which side serves new requests. */
  readonly active: 'primary' | 'fallback';
  readonly primary: string;
  readonly fallback: string;
  readonly failovers: number;
  readonly recoveries: number;
  readonly lastSwitch?: { readonly to: 'primary' | 'fallback'; readonly reason: string; readonly at: string };
  /** The primary's own health while the fallback serves. */
  readonly primaryHealth?: ProviderHealth;
}

/** A provider as the host composes it: health is the host's full view (see {@link measureProvider}). */
export interface HostProvider extends Omit<ASRProvider, 'health'> {
  health(): ProviderHealth;
}
