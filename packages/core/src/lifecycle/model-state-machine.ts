import { EchoPanelError, type ModelState } from '@echopanel/plugin-api';

/**
 * Legal model state transitions: ERROR is reachable from every working
 * state, UNLOADING brings any loaded or half-loaded model back to UNINITIALIZED, and ERROR can be retried
 * (→ LOADING) or reset (→ UNLOADING).
 */
export const MODEL_TRANSITIONS: Readonly<Record<ModelState, readonly ModelState[]>> = Object.freeze({
  UNINITIALIZED: ['LOADING'],
  LOADING: ['WARMING_UP', 'ERROR', 'UNLOADING'],
  WARMING_UP: ['READY', 'ERROR', 'UNLOADING'],
  READY: ['ERROR', 'UNLOADING'],
  ERROR: ['LOADING', 'UNLOADING'],
  UNLOADING: ['UNINITIALIZED', 'ERROR'],
});

export const MODEL_STATES: readonly ModelState[] = Object.freeze(Object.keys(MODEL_TRANSITIONS) as ModelState[]);

export function isLegalTransition(from: ModelState, to: ModelState): boolean {
  return MODEL_TRANSITIONS[from].includes(to);
}

/** Throws INVALID_STATE unless `from → to` is legal. */
export function assertTransition(from: ModelState, to: ModelState): void {
  if (!isLegalTransition(from, to)) {
    throw new EchoPanelError('INVALID_STATE', `illegal model state transition ${from} → ${to}`, { details: { from, to } });
  }
}
