import { EchoPanelError } from '@echopanel/plugin-api';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * Admits at most `concurrency` jobs at once, first come first served. `depth` (waiting + running) is the
 * engine's backlog. A caller whose signal aborts while waiting leaves the queue without running.
 * With concurrency 1 it is the serializer for anything async that must run one at a time, in order.
 */
export class InferenceQueue {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private concurrencyLimit = 1) {}

  get concurrency(): number {
    return this.concurrencyLimit;
  }

  /** Jobs waiting for a slot. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  get runningCount(): number {
    return this.running;
  }

  /** Waiting + running. */
  get depth(): number {
    return this.waiting.length + this.running;
  }

  async run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await job();
    } finally {
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.running < this.concurrencyLimit && this.waiting.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(abortError());
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiting.push(waiter);
    });
  }

  private release(): void {
    this.running--;
    while (this.running < this.concurrencyLimit && this.waiting.length > 0) {
      const w = this.waiting.shift()!;
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      this.running++;
      w.resolve();
    }
  }
}

function abortError(): EchoPanelError {
  return new EchoPanelError('ABORTED', 'the request was cancelled');
}
