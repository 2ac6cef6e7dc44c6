import type { Clock } from '@echopanel/plugin-api';

export interface RecoveryOptions {
  /** Retry a model that ended in ERROR by itself (default true). */
  readonly enabled?: boolean;
  /** Wait before the first retry (default 1000 ms); doubled after each failed attempt. */
  readonly initialDelayMs?: number;
  /** Longest wait between attempts (default 60000 ms). */
  readonly maxDelayMs?: number;
}

/** Where automatic recovery stands (`/model-status`). */
export interface RecoveryStatus {
  readonly enabled: boolean;
  /** Times the model failed since it was last READY. */
  readonly consecutiveFailures: number;
  /** When the next attempt starts (ISO), while one is scheduled. */
  readonly nextAttemptAt?: string;
  readonly nextDelayMs?: number;
  /** Totals since start: attempts started, attempts that reached READY. */
  readonly attempts: number;
  readonly recoveries: number;
}

/** Capped exponential backoff for retrying a model in ERROR: one timer at a time, unref'd. */
export class RecoveryBackoff {
  private failures = 0;
  private attempts = 0;
  private recoveries = 0;
  private timer?: NodeJS.Timeout;
  private next?: { at: string; delayMs: number };

  constructor(
    private readonly options: RecoveryOptions,
    private readonly clock: Clock,
  ) {}

  get enabled(): boolean {
    return this.options.enabled !== false;
  }

  /**
   * The model failed (again): schedules `attempt` after the backoff delay, which doubles with each failure since
   * the model was last READY (replacing a scheduled attempt). Returns the delay, or undefined when disabled.
   */
  schedule(attempt: () => void): number | undefined {
    if (!this.enabled) return undefined;
    this.cancel();
    const initial = this.options.initialDelayMs ?? 1000;
    const delayMs = Math.min(this.options.maxDelayMs ?? 60000, initial * 2 ** this.failures);
    this.failures++;
    this.next = { at: new Date(this.clock.date().getTime() + delayMs).toISOString(), delayMs };
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.next = undefined;
      this.attempts++;
      attempt();
    }, delayMs);
    this.timer.unref();
    return delayMs;
  }

  /** The model is READY: the backoff starts over. */
  reset(): void {
    this.failures = 0;
    this.cancel();
  }

  /** A scheduled attempt brought the model back. */
  recovered(): void {
    this.recoveries++;
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.next = undefined;
  }

  status(): RecoveryStatus {
    return {
      enabled: this.enabled,
      consecutiveFailures: this.failures,
      ...(this.next ? { nextAttemptAt: this.next.at, nextDelayMs: this.next.delayMs } : {}),
      attempts: this.attempts,
      recoveries: this.recoveries,
    };
  }
}
