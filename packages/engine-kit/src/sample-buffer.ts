/**
 * Mono s16 samples addressed by their absolute index in a stream. Old samples are discarded from the front, so
 * the buffer holds only the audio not yet handed on (bounded by what the caller keeps).
 */
export class SampleBuffer {
  private data: Int16Array;
  private head = 0;
  private length = 0;
  private base = 0;

  constructor(initialCapacity = 16000) {
    this.data = new Int16Array(Math.max(1, initialCapacity));
  }

  /** Absolute index of the first sample held. */
  get start(): number {
    return this.base;
  }

  /** Absolute index one past the last sample held (= samples appended so far). */
  get end(): number {
    return this.base + this.length;
  }

  /** Samples held. */
  get size(): number {
    return this.length;
  }

  append(pcm: Int16Array): void {
    if (this.head + this.length + pcm.length > this.data.length) {
      const needed = this.length + pcm.length;
      if (needed <= this.data.length) {
        // Compact in place: the discarded front makes room.
        this.data.copyWithin(0, this.head, this.head + this.length);
      } else {
        const bigger = new Int16Array(Math.max(needed, this.data.length * 2));
        bigger.set(this.data.subarray(this.head, this.head + this.length));
        this.data = bigger;
      }
      this.head = 0;
    }
    this.data.set(pcm, this.head + this.length);
    this.length += pcm.length;
  }

  /** A view of samples [from, to) (absolute indices, clamped to what is held); valid until the next append. */
  view(from: number, to: number): Int16Array {
    const a = Math.max(from, this.base) - this.base;
    const b = Math.min(to, this.end) - this.base;
    return this.data.subarray(this.head + a, this.head + Math.max(a, b));
  }

  /** A copy of samples [from, to) (absolute indices, clamped to what is held). */
  slice(from: number, to: number): Int16Array {
    return this.view(from, to).slice();
  }

  /** Forgets every sample before `index`. */
  discardBefore(index: number): void {
    const n = Math.min(Math.max(0, index - this.base), this.length);
    this.head += n;
    this.length -= n;
    this.base += n;
    if (this.length === 0) this.head = 0;
  }
}
