import { EchoPanelError, hasErrorCode } from '@echopanel/core';
import type { FastifyInstance } from 'fastify';

/** What {@link RequestGate} shows in `/health` and `/metrics`. */
export interface GateStats {
  readonly running: number;
  readonly queued: number;
  readonly maxRunning: number;
  readonly maxQueued: number;
  /** Requests refused because the queue was full, since start. */
  readonly refused: number;
}

/**
 * Admission control for file transcriptions: at most `maxRunning` at once, at most `maxQueued` waiting; past that
 * TOO_MANY_REQUESTS with a Retry-After estimate from the recent request times. A waiter that gives up (client
 * gone) leaves the queue.
 */
export class RequestGate {
  private running = 0;
  private refused = 0;
  private readonly waiting: Array<() => void> = [];
  /** Smoothed seconds per admitted request (for Retry-After). */
  private meanSeconds = 5;

  constructor(
    private readonly maxRunning: number,
    private readonly maxQueued: number,
  ) {}

  /** Waits for a slot; resolves with its release function. Throws TOO_MANY_REQUESTS (details.retryAfterSeconds) when full, CLIENT_CLOSED_REQUEST when `signal` fires first. */
  async enter(signal?: AbortSignal): Promise<() => void> {
    if (this.running >= this.maxRunning) {
      if (this.waiting.length >= this.maxQueued) {
        this.refused++;
        const retryAfterSeconds = this.retryAfterSeconds();
        throw new EchoPanelError(
          'TOO_MANY_REQUESTS',
          `the server is busy: ${this.running} transcriptions running and ${this.waiting.length} queued (server.limits.maxQueuedRequests); retry in ${retryAfterSeconds} s`,
          { details: { retryAfterSeconds } },
        );
      }
      await new Promise<void>((resolve, reject) => {
        const turn = () => {
          signal?.removeEventListener('abort', gone);
          resolve();
        };
        const gone = () => {
          const i = this.waiting.indexOf(turn);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new EchoPanelError('CLIENT_CLOSED_REQUEST', 'the client went away while the request was queued'));
        };
        if (signal?.aborted) return gone();
        signal?.addEventListener('abort', gone, { once: true });
        this.waiting.push(turn);
      });
    } else {
      this.running++;
    }
    const t0 = performance.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.meanSeconds = 0.8 * this.meanSeconds + 0.2 * ((performance.now() - t0) / 1000);
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter (running stays the same).
      if (next) next();
      else this.running--;
    };
  }

  stats(): GateStats {
    return { running: this.running, queued: this.waiting.length, maxRunning: this.maxRunning, maxQueued: this.maxQueued, refused: this.refused };
  }

  private retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.meanSeconds * (this.waiting.length + 1)) / this.maxRunning));
  }
}

/** Puts `POST route` behind the gate: the slot is taken before the body is read and freed when the response closes. */
export function installRequestGate(app: FastifyInstance, gate: RequestGate, route: string): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'POST' || req.url.split('?')[0] !== route) return;
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort());
    try {
      const release = await gate.enter(gone.signal);
      if (gone.signal.aborted) release();
      else reply.raw.once('close', release);
    } catch (err) {
      if (hasErrorCode(err, 'TOO_MANY_REQUESTS')) {
        const after = err.details?.retryAfterSeconds;
        reply.header('retry-after', String(typeof after === 'number' ? after : 1));
      }
      throw err;
    }
  });
}
