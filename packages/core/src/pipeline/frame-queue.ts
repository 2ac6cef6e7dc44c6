/** A frame waiting in a stream's queue, with its position in the stream. */
export interface QueuedFrame {
  readonly pcm: Int16Array;
  /** Absolute index of the frame's first sample in the stream. */
  readonly start: number;
  /** A marker without audio that takes effect at this point of the stream (see StreamSession.commit/clear). */
  readonly control?: 'commit' | 'clear';
}

/**
 * Single-consumer FIFO of PCM frames that knows how many samples it holds. The producer never waits (audio
 * arrives in real time); the owner bounds it by calling {@link FrameQueue.dropOldest}.
 */
export class FrameQueue {
  private frames: QueuedFrame[] = [];
  private head = 0;
  private samples = 0;
  private closed = false;
  private waiter: ((frame: QueuedFrame | undefined) => void) | undefined;

  /** Samples waiting. */
  get queuedSamples(): number {
    return this.samples;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  push(frame: QueuedFrame): void {
    if (this.closed) throw new Error('FrameQueue: push after close');
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(frame);
      return;
    }
    this.frames.push(frame);
    this.samples += frame.pcm.length;
  }

  /** Next frame, or undefined once closed and empty. */
  take(): Promise<QueuedFrame | undefined> {
    const f = this.shift();
    if (f || this.closed) return Promise.resolve(f);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** No more frames will come; a pending `take` resolves undefined when the queue is empty. */
  close(): void {
    this.closed = true;
    if (this.waiter && this.size() === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      w(undefined);
    }
  }

  /** Removes the oldest frames until at most `maxSamples` remain; returns what was removed. Markers stay, in order. */
  dropOldest(maxSamples: number): QueuedFrame[] {
    const dropped: QueuedFrame[] = [];
    const markers: QueuedFrame[] = [];
    while (this.samples > maxSamples) {
      const f = this.shift();
      if (!f) break;
      (f.control ? markers : dropped).push(f);
    }
    this.frames.splice(this.head, 0, ...markers);
    return dropped;
  }

  /** Removes and returns everything waiting. */
  drain(): QueuedFrame[] {
    return this.dropOldest(0);
  }

  private size(): number {
    return this.frames.length - this.head;
  }

  private shift(): QueuedFrame | undefined {
    if (this.head >= this.frames.length) return undefined;
    const f = this.frames[this.head];
    this.frames[this.head++] = undefined as unknown as QueuedFrame;
    this.samples -= f.pcm.length;
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    return f;
  }
}
