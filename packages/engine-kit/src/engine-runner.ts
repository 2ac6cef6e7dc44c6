import {
  EchoPanelError,
  errorMessage,
  isEchoPanelError,
  type Logger,
  silentLogger,
  type TranscriptionEvent,
} from '@echopanel/plugin-api';
import { InferenceQueue } from './inference-queue.js';

export interface EngineRunnerOptions {
  /** Jobs running at once (1 = serialized per model). */
  readonly concurrency?: number;
  /** Per-attempt limit; a job past it is aborted and counts as a failure (no hang blocks the queue forever). */
  readonly timeoutMs: number;
  readonly logger?: Logger;
  /**
   * Brings the engine back after a timeout or crash (e.g. kill and restart the worker). Called inside the
   * queue slot, before the one retry.
   */
  readonly recover?: (reason: EchoPanelError) => Promise<void>;
  /** Which failures are worth a recovery + retry (default: INFERENCE_TIMEOUT, WORKER_CRASHED). */
  readonly isRecoverable?: (err: EchoPanelError) => boolean;
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  /** This job's per-attempt limit instead of the runner's (a long recording needs longer than a chunk). */
  readonly timeoutMs?: number;
  readonly onEvent?: (event: TranscriptionEvent) => void;
}

/**
 * Runs inference jobs against one engine: queued (backlog observable), time-limited, retried once after
 * recovery (the host times the calls itself). Shared by every batch provider so these rules exist once.
 */
export class EngineRunner {
  readonly queue: InferenceQueue;
  private readonly logger: Logger;
  private restartCount = 0;

  constructor(private readonly options: EngineRunnerOptions) {
    this.queue = new InferenceQueue(options.concurrency ?? 1);
    this.logger = options.logger ?? silentLogger;
  }

  get restarts(): number {
    return this.restartCount;
  }

  get backlog(): number {
    return this.queue.depth;
  }

  /**
   * Runs `job`. The job gets a signal that aborts on timeout or caller abort.
   * Throws an EchoPanelError (INFERENCE_TIMEOUT, WORKER_CRASHED, INFERENCE_FAILED, ABORTED) when the retry fails too.
   */
  run<T>(job: (signal: AbortSignal) => Promise<T>, opts: RunOptions = {}): Promise<T> {
    return this.queue.run(async () => {
      try {
        return await this.attempt(job, opts);
      } catch (first) {
        const err = toEngineError(first);
        if (err.code === 'ABORTED' || opts.signal?.aborted) throw err;
        const recoverable = (this.options.isRecoverable ?? defaultRecoverable)(err);
        if (!recoverable || !this.options.recover) throw err;
        this.logger.warn({ code: err.code, err: err.message }, 'engine failed; recovering and retrying once');
        this.restartCount++;
        opts.onEvent?.({ type: 'restart', reason: `${err.code}: ${err.message}` });
        try {
          await this.options.recover(err);
          return await this.attempt(job, opts);
        } catch (second) {
          throw toEngineError(second);
        }
      }
    }, opts.signal);
  }

  private async attempt<T>(job: (signal: AbortSignal) => Promise<T>, opts: RunOptions): Promise<T> {
    const outer = opts.signal;
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs;
    const ac = new AbortController();
    const onOuter = () => ac.abort(new EchoPanelError('ABORTED', 'the request was cancelled'));
    if (outer?.aborted) onOuter();
    outer?.addEventListener('abort', onOuter, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new EchoPanelError('INFERENCE_TIMEOUT', `inference took longer than ${timeoutMs} ms`);
        ac.abort(e);
        reject(e);
      }, timeoutMs);
    });
    const aborted = new Promise<never>((_, reject) => {
      ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true });
    });
    // Both settle after the race is decided too; mark them handled so late rejections are not "unhandled".
    timeout.catch(() => undefined);
    aborted.catch(() => undefined);
    try {
      return await Promise.race([job(ac.signal), timeout, aborted]);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
      if (!ac.signal.aborted) ac.abort(new EchoPanelError('ABORTED', 'attempt finished'));
    }
  }
}

function defaultRecoverable(err: EchoPanelError): boolean {
  return err.code === 'INFERENCE_TIMEOUT' || err.code === 'WORKER_CRASHED';
}

function toEngineError(err: unknown): EchoPanelError {
  if (isEchoPanelError(err)) return err;
  return new EchoPanelError('INFERENCE_FAILED', errorMessage(err), { cause: err });
}
