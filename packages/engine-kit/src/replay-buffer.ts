/**
 * Holds a stream's audio from the first sample not yet accounted for, so a run on one provider can be
 * abandoned and the same audio replayed to another. Pulls from the source one frame at a time (serialized),
 * copies frames (sources may reuse buffers), and never closes the source when a reader is detached.
 */
export class ReplayBuffer {
  private readonly iterator: AsyncIterator<Int16Array>;
  private readonly chunks: { start: number; data: Int16Array }[] = [];
  private received = 0;
  private ended = false;
  private pulling?: Promise<void>;
  /** What the source threw, if it did (so it is not mistaken for a provider failure). */
  sourceError?: unknown;

  constructor(source: AsyncIterable<Int16Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Samples received from the source so far. */
  get receivedSamples(): number {
    return this.received;
  }

  get sourceEnded(): boolean {
    return this.ended;
  }

  /** Samples held (not yet released). */
  get heldSamples(): number {
    return this.chunks.reduce((n, c) => n + c.data.length, 0);
  }

  /** Forgets audio before stream sample `upTo` (it has been accounted for). */
  release(upTo: number): void {
    while (this.chunks.length && this.chunks[0].start + this.chunks[0].data.length <= upTo) this.chunks.shift();
  }

  /** A reader starting at stream sample `from` (must not be released yet). */
  reader(from: number): ReplayReader {
    return new ReplayReader(this, from);
  }

  /** Closes the source (end of the whole transcription). */
  close(): void {
    if (!this.ended) {
      this.ended = true;
      void Promise.resolve(this.iterator.return?.()).catch(() => undefined);
    }
  }

  /** @internal data at `pos` (a view up to the end of the chunk holding it), or undefined when not received yet. */
  slice(pos: number): Int16Array | undefined {
    for (const c of this.chunks) {
      if (pos >= c.start && pos < c.start + c.data.length) return c.data.subarray(pos - c.start);
    }
    if (pos < this.received && (!this.chunks.length || pos < this.chunks[0].start)) {
      throw new Error(`replay position ${pos} was already released`);
    }
    return undefined;
  }

  /** @internal pulls one more frame (shared by concurrent callers). */
  pull(): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.pulling ??= this.iterator.next().then(
      (r) => {
        this.pulling = undefined;
        if (r.done) {
          this.ended = true;
          return;
        }
        const data = r.value.slice();
        if (data.length) {
          this.chunks.push({ start: this.received, data });
          this.received += data.length;
        }
      },
      (err: unknown) => {
        this.pulling = undefined;
        this.ended = true;
        this.sourceError = err;
        throw err;
      },
    );
    return this.pulling;
  }
}

/** One provider run's view of a {@link ReplayBuffer}. `detach()` ends it at once, without touching the source. */
export class ReplayReader implements AsyncIterableIterator<Int16Array> {
  private detached = false;
  private wake?: () => void;

  constructor(
    private readonly buffer: ReplayBuffer,
    private cursor: number,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Stream position of the next sample this reader will hand out. */
  get position(): number {
    return this.cursor;
  }

  detach(): void {
    this.detached = true;
    this.wake?.();
  }

  async next(): Promise<IteratorResult<Int16Array>> {
    for (;;) {
      if (this.detached) return { done: true, value: undefined };
      const data = this.buffer.slice(this.cursor);
      if (data) {
        this.cursor += data.length;
        return { done: false, value: data };
      }
      if (this.buffer.sourceEnded) return { done: true, value: undefined };
      const detachedWhileWaiting = new Promise<void>((resolve) => (this.wake = resolve));
      await Promise.race([this.buffer.pull(), detachedWhileWaiting]);
      this.wake = undefined;
    }
  }

  async return(): Promise<IteratorResult<Int16Array>> {
    this.detach();
    return { done: true, value: undefined };
  }
}
