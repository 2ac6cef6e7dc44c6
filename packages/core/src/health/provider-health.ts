/** Model state as the lifecycle manager and providers report it. */
export type ModelState = 'UNINITIALIZED' | 'LOADING' | 'WARMING_UP' | 'READY' | 'ERROR' | 'UNLOADING';

export interface MemoryUsage {
  /** RSS of this Node process. */
  readonly processRssBytes: number;
  /** RSS of worker processes the provider owns (0 when in-process). */
  readonly workerRssBytes: number;
  /** Estimate of what the loaded model occupies. */
  readonly modelResidentBytes?: number;
}

export interface SessionStats {
  readonly active: number;
  readonly total: number;
  readonly receivedSamples: number;
  readonly transcribedSamples: number;
  readonly skippedSamples: number;
  readonly droppedSamples: number;
}

/** One health shape for every provider (MOD-008, with the seed's gaps closed). */
export interface ProviderHealth {
  readonly provider: string;
  readonly state: ModelState;
  /** Processing time / audio time over the sliding window (< 1 is faster than real time). */
  readonly rtf: number;
  readonly avgInferMs: number;
  readonly p50InferMs: number;
  readonly p95InferMs: number;
  readonly p99InferMs: number;
  readonly inferences: number;
  /** Requests waiting for the engine. */
  readonly backlog: number;
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
  /** Provider-specific extras (e.g. VAD stats). */
  readonly extra?: Readonly<Record<string, unknown>>;
}
