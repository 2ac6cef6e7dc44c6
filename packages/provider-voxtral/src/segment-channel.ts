import type { Segment } from '@echopanel/plugin-api';

/**
 * The queue between the engine side of a stream (stdout handler, writer) and the consumer of `transcribe`. A newer
 * partial replaces a queued partial (it supersedes it), and the writer waits on `room()` before taking more audio,
 * so a consumer that stops reading back-pressures the audio source instead of growing this queue.
 */
export class SegmentChannel {
  private readonly items: Segment[] = [];
  private closed = false;
  private failure: { error: unknown } | undefined;
  private wakeConsumer: (() => void) | undefined;
  private roomWaiters: (() => void)[] = [];

  constructor(private readonly limit = 32) {}

  get length(): number {
    return this.items.length;
  }

  push(segment: Segment): void {
    if (this.closed) return;
    const last = this.items[this.items.length - 1];
    if (!segment.isFinal && last && !last.isFinal) this.items[this.items.length - 1] = segment;
    else this.items.push(segment);
    this.wake();
  }

  /** Resolves when the queue has room (or is closed). */
  room(): Promise<void> {
    if (this.items.length < this.limit || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  close(error?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (error !== undefined) this.failure = { error };
    this.wake();
    this.releaseRoom();
  }

  async *drain(): AsyncGenerator<Segment> {
    for (;;) {
      while (this.items.length > 0) {
        const next = this.items.shift()!;
        this.releaseRoom();
        yield next;
      }
      if (this.closed) {
        if (this.failure) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
    }
  }

  private wake(): void {
    const w = this.wakeConsumer;
    this.wakeConsumer = undefined;
    w?.();
  }

  private releaseRoom(): void {
    if (this.items.length >= this.limit && !this.closed) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiters) w();
  }
}
