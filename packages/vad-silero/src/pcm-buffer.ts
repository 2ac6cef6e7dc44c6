/**
 * A window of a PCM stream addressed by absolute sample index: frames are appended at the end, decided audio
 * is released from the front. Storage is reused (compacted in place, grown by doubling), so a long stream
 * costs memory proportional to the undecided audio only.
 */
export class PcmBuffer {
  private data: Int16Array;
  /** Absolute index of data[head]. */
  private base = 0;
  private head = 0;
  private length = 0;

  constructor(initialSamples = 16000) {
    this.data = new Int16Array(initialSamples);
  }

  /** Absolute index of the first sample held. */
  get start(): number {
    return this.base;
  }

  /** Absolute index one past the last sample held. */
  get end(): number {
    return this.base + this.length;
  }

  append(frame: Int16Array): void {
    if (this.head + this.length + frame.length > this.data.length) {
      if (this.length + frame.length <= this.data.length / 2) {
        this.data.copyWithin(0, this.head, this.head + this.length);
      } else {
        const bigger = new Int16Array(Math.max(this.data.length * 2, this.length + frame.length));
        bigger.set(this.data.subarray(this.head, this.head + this.length));
        this.data = bigger;
      }
      this.head = 0;
    }
    this.data.set(frame, this.head + this.length);
    this.length += frame.length;
  }

  /** A view of absolute samples [from, to) (clamped to what is held); valid until the next append. */
  view(from: number, to: number): Int16Array {
    const a = Math.max(from, this.base) - this.base;
    const b = Math.min(to, this.end) - this.base;
    return this.data.subarray(this.head + a, this.head + Math.max(a, b));
  }

  /** A copy of absolute samples [from, to). */
  slice(from: number, to: number): Int16Array {
    return this.view(from, to).slice();
  }

  /** Releases everything before absolute index `index`. */
  discardBefore(index: number): void {
    const n = Math.min(Math.max(0, index - this.base), this.length);
    this.head += n;
    this.length -= n;
    this.base += n;
    if (this.length === 0) this.head = 0;
  }
}
