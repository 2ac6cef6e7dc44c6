import type { DegradeLevelName } from '../health/provider-health.js';

export type DegradeLevel = DegradeLevelName;

/** Mildest first; a level's index is its severity. */
export const DEGRADE_LEVELS: readonly DegradeLevel[] = Object.freeze(['NORMAL', 'WARNING', 'DEGRADE', 'EMERGENCY', 'FAILOVER']);

export function severity(level: DegradeLevel): number {
  return DEGRADE_LEVELS.indexOf(level);
}

/** Ladder settings (config `asr.degrade`; seed values as defaults). */
export interface DegradeSettings {
  readonly enabled: boolean;
  /** RTF at or above which WARNING / DEGRADE / EMERGENCY is entered; below `recovery` for the window to step back. */
  readonly thresholds: { readonly warning: number; readonly degrade: number; readonly emergency: number; readonly recovery: number };
  /** Minimum time at a level before degrading further. */
  readonly minLevelSeconds: number;
  /** RTF must stay below `thresholds.recovery` this long for each step back. */
  readonly recoveryWindowSeconds: number;
  /** Consecutive provider errors that trigger failover. */
  readonly errorsBeforeFailover: number;
}

export const DEFAULT_DEGRADE_SETTINGS: DegradeSettings = Object.freeze({
  enabled: true,
  thresholds: Object.freeze({ warning: 0.8, degrade: 1.0, emergency: 1.2, recovery: 0.7 }),
  minLevelSeconds: 10,
  recoveryWindowSeconds: 30,
  errorsBeforeFailover: 3,
});

/** The level an RTF calls for (FAILOVER is never reached by RTF alone). */
export function levelForRtf(rtf: number, thresholds: DegradeSettings['thresholds']): DegradeLevel {
  if (rtf >= thresholds.emergency) return 'EMERGENCY';
  if (rtf >= thresholds.degrade) return 'DEGRADE';
  if (rtf >= thresholds.warning) return 'WARNING';
  return 'NORMAL';
}
