import { EchoPanelError, errorMessage, isEchoPanelError } from '@echopanel/core';
import { toApiError } from '../api-error.js';
import type { JobFailure } from './job-types.js';

/** The code of a job stopped by `DELETE /v1/jobs/{id}`. */
export const JOB_CANCELLED = 'JOB_CANCELLED';

/** A failure as the job reports it: the root cause's code and message. */
export function jobFailure(err: unknown): JobFailure {
  if (isEchoPanelError(err)) return { code: err.code, message: err.message };
  return { code: toApiError(err).body.error.code, message: errorMessage(err) };
}

/**
 * Whether another try may succeed: the engine not ready or crashed, a timeout, FFmpeg missing (5xx-class codes).
 * Bad input (4xx-class: unreadable audio, too long, unsupported language) and cancellation fail at once.
 */
export function isTransient(failure: JobFailure): boolean {
  if (failure.code === JOB_CANCELLED) return false;
  return toApiError(new EchoPanelError(failure.code, failure.message)).status >= 500;
}

/** A failure carried through BullMQ, whose failedReason is a string. */
export function encodeFailure(failure: JobFailure): string {
  return JSON.stringify(failure);
}

export function decodeFailure(reason: string | undefined): JobFailure {
  try {
    const f = JSON.parse(reason ?? '') as Partial<JobFailure>;
    if (typeof f.code === 'string' && typeof f.message === 'string') return { code: f.code, message: f.message };
  } catch {
    // A reason BullMQ wrote itself (a stalled job given up on, a lost lock).
  }
  if (reason && /stalled/i.test(reason)) {
    return { code: 'JOB_STALLED', message: `${reason}: the servers running it stopped (killed, or cut off from Redis) too often; resubmit it` };
  }
  return { code: 'JOB_FAILED', message: reason || 'the job failed' };
}
