/**
 * One audio stream read in consecutive phases (VAD on, VAD off, …): each phase takes frames while its condition
 * holds; the first frame that fails it is kept for the next phase, so no sample is lost or read twice.
 */
export class FrameSource {
  private readonly it: AsyncIterator<Int16Array>;
  private held: Int16Array | undefined;
  private ended = false;
  /** Samples handed to phases so far. */
  consumed = 0;
  /** The last `take` ended because its condition failed (not because its reader stopped). */
  conditionEnded = false;

  constructor(audio: AsyncIterable<Int16Array>) {
    this.it = audio[Symbol.asyncIterator]();
  }

  /** Whether another frame is available (waits for it). */
  async hasMore(): Promise<boolean> {
    if (this.held) return true;
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    this.held = r.value;
    return true;
  }

  /** Frames while `keep()` is true when each frame is due. */
  take(keep: () => boolean): AsyncGenerator<Int16Array> {
    this.conditionEnded = false;
    return this.frames(keep);
  }

  private async *frames(keep: () => boolean): AsyncGenerator<Int16Array> {
    while (await this.hasMore()) {
      if (!keep()) {
        this.conditionEnded = true;
        return;
      }
      const frame = this.held!;
      this.held = undefined;
      this.consumed += frame.length;
      yield frame;
    }
  }

  /** A frame read but not handed to any phase (the stream was stopped in between). */
  takeHeld(): Int16Array | undefined {
    const f = this.held;
    this.held = undefined;
    return f;
  }

  /** Stops the underlying stream early. */
  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.it.return?.();
    }
  }
}
