import { type ASRProvider, EchoPanelError, type RuntimeTuning } from '@echopanel/plugin-api';
import type { DropPolicy } from './drop-policy.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * What the ladder can do, implemented by the host. Every method is optional (a missing one is reported as not
 * supported); one that throws is logged and recorded, and the level still changes, because the level describes
 * the load, not the remedy.
 */
export interface DegradeActions {
  /** WARNING: process bigger chunks. Returns the length actually in force. */
  setChunkSeconds?(seconds: number): MaybePromise<number | void>;
  /** DEGRADE: quality knobs through the provider contract (beam 1, smaller model). Returns what was applied. */
  tune?(tuning: RuntimeTuning): MaybePromise<RuntimeTuning | void>;
  /** The provider's settings in force before a step changes them (what its revert restores). */
  currentTuning?(): MaybePromise<RuntimeTuning | undefined>;
  /** DEGRADE: VAD off (saves its compute). */
  setVadEnabled?(enabled: boolean): MaybePromise<void>;
  /** EMERGENCY: drop every other chunk (every dropped sample counted and reported). */
  setDropPolicy?(on: boolean): MaybePromise<void>;
  /** FAILOVER: switch to the fallback provider. `false` = no usable fallback (the level stays). */
  failover?(reason: string): MaybePromise<boolean>;
  /** Leave FAILOVER: back to the primary. `false` = it is not healthy yet. */
  recoverPrimary?(): MaybePromise<boolean>;
  /** Is the primary healthy again (availability + a tiny decode)? Asked while at FAILOVER. */
  probePrimary?(): MaybePromise<boolean>;
}

/** The subset of a failover pair the default actions use (FailoverProvider implements it). */
export interface FailoverControl {
  failover(reason: string): Promise<boolean>;
  recoverPrimary(): Promise<boolean>;
  probePrimary(): Promise<boolean>;
}

export interface ProviderDegradeActionsOptions {
  /** Provider the tuning goes to (a ModelManager or FailoverProvider forwards to whoever serves). */
  readonly provider: ASRProvider;
  readonly dropPolicy?: DropPolicy;
  /** VAD switch of the host's pipeline. */
  readonly setVadEnabled?: (enabled: boolean) => MaybePromise<void>;
  readonly failover?: FailoverControl;
}

/**
 * Default actions on the provider contract: chunk length and quality via `provider.tune()` (what was in force read
 * from `provider.tuning()`), drop policy, failover.
 */
export function createProviderDegradeActions(options: ProviderDegradeActionsOptions): DegradeActions {
  const { provider } = options;
  const tune = async (t: RuntimeTuning): Promise<RuntimeTuning> => {
    if (!provider.tune) throw new EchoPanelError('NOT_SUPPORTED', `provider ${provider.name} cannot be tuned at runtime`);
    return provider.tune(t);
  };
  return {
    setChunkSeconds: async (seconds) => {
      const applied = await tune({ chunkSeconds: seconds });
      if (applied.chunkSeconds === undefined) {
        throw new EchoPanelError('NOT_SUPPORTED', `provider ${provider.name} did not apply a chunk length`);
      }
      return applied.chunkSeconds;
    },
    tune,
    currentTuning: () => provider.tuning?.(),
    ...(options.setVadEnabled ? { setVadEnabled: options.setVadEnabled } : {}),
    ...(options.dropPolicy
      ? {
          setDropPolicy: (on: boolean) => {
            options.dropPolicy!.enabled = on;
          },
        }
      : {}),
    ...(options.failover
      ? {
          failover: (reason: string) => options.failover!.failover(reason),
          recoverPrimary: () => options.failover!.recoverPrimary(),
          probePrimary: () => options.failover!.probePrimary(),
        }
      : {}),
  };
}
