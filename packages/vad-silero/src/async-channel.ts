/**
 * A single-consumer async queue with backpressure: the producer's `push` waits while `capacity` items are
 * queued. The consumer ending its iteration cancels the channel; pushes then resolve at once and report it.
 */
export class AsyncChannel<T> implements AsyncIterable<T> {
  private readonly queue: T[] = [];
  private closed = false;
  private failure: { error: unknown } | undefined;
  private cancelledFlag = false;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(private readonly capacity = 8) {}

  get cancelled(): boolean {
    return this.cancelledFlag;
  }

  /** Queues `item`; resolves `false` when the consumer is gone (the item was not taken). */
  async push(item: T): Promise<boolean> {
    while (this.queue.length >= this.capacity && !this.cancelledFlag) {
      await new Promise<void>((resolve) => (this.wakeProducer = resolve));
    }
    if (this.cancelledFlag) return false;
    this.queue.push(item);
    this.wake();
    return true;
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.closed = true;
    this.wake();
  }

  cancel(): void {
    this.cancelledFlag = true;
    this.queue.length = 0;
    this.wakeProducer?.();
    this.wakeProducer = undefined;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for (;;) {
        if (this.queue.length > 0) {
          const item = this.queue.shift()!;
          this.wakeProducer?.();
          this.wakeProducer = undefined;
          yield item;
          continue;
        }
        if (this.failure) throw this.failure.error;
        if (this.closed) return;
        await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
      }
    } finally {
      this.cancel();
    }
  }

  private wake(): void {
    this.wakeConsumer?.();
    this.wakeConsumer = undefined;
  }
}
