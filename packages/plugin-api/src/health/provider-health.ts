/** Model state as the lifecycle manager and providers report it. */
export type ModelState = 'UNINITIALIZED' | 'LOADING' | 'WARMING_UP' | 'READY' | 'ERROR' | 'UNLOADING';

/**
 * What a provider may say about itself in {@link ASRProvider.health}: only what the host cannot see. Every field
 * is optional, and the host validates the object (an unknown field, a wrong type or a throw is logged once and
 * the report ignored). Timing, RTF, latency, backlog and sample accounting are measured by the host around its
 * calls; a provider does not report them.
 */
export interface ProviderHealthReport {
  /** The provider's own view; the host's lifecycle state wins where they differ (e.g. ERROR after a crash). */
  readonly state?: ModelState;
  /** `false` when the weights are not in memory although loaded (e.g. paged out, worker restarting). */
  readonly modelResident?: boolean;
  readonly memory?: {
    /** RSS of worker processes the provider owns (0 when in-process). */
    readonly workerRssBytes?: number;
    /** What the loaded model occupies, when the provider knows better than the host's RSS delta around `load`. */
    readonly modelResidentBytes?: number;
  };
  /** PID of the provider's worker process, if it has one. */
  readonly workerPid?: number;
  /** Times the provider restarted its engine (e.g. a crashed worker) since it was created. */
  readonly restarts?: number;
  /** Provider-specific extras, shown as they are under `extra` in `/model-status`. */
  readonly extra?: Readonly<Record<string, unknown>>;
}
