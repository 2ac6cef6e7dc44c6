/**
 * Audio written to the engine but not yet acknowledged by a final, kept so it can be re-sent to a restarted
 * process. Holds stream samples [start, end); `ack` forgets what is no longer needed. The caller bounds its size
 * (it forces a final before the buffer passes its limit).
 */
export class ReplayBuffer {
  private chunks: Int16Array[] = [];
  private startSample = 0;
  private endSample = 0;
  private peak = 0;

  /** First sample still held (stream index). */
  get start(): number {
    return this.startSample;
  }

  /** One past the last sample held. */
  get end(): number {
    return this.endSample;
  }

  get size(): number {
    return this.endSample - this.startSample;
  }

  /** Largest size reached. */
  get peakSize(): number {
    return this.peak;
  }

  /** Appends a copy of `pcm` (callers may reuse their frame buffers). Returns the copy. */
  append(pcm: Int16Array): Int16Array {
    const copy = pcm.slice();
    if (copy.length === 0) return copy;
    this.chunks.push(copy);
    this.endSample += copy.length;
    this.peak = Math.max(this.peak, this.size);
    return copy;
  }

  /** Forgets samples before `sample`. */
  ack(sample: number): void {
    const to = Math.min(sample, this.endSample);
    if (to <= this.startSample) return;
    while (this.chunks.length > 0 && this.startSample + this.chunks[0].length <= to) {
      this.startSample += this.chunks.shift()!.length;
    }
    if (to > this.startSample && this.chunks.length > 0) {
      // Copy the tail so the dropped head's memory is released.
      this.chunks[0] = this.chunks[0].slice(to - this.startSample);
      this.startSample = to;
    }
  }

  /** The held audio in order, as views (do not modify). */
  *slices(): Generator<Int16Array> {
    yield* this.chunks;
  }
}
