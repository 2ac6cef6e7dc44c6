/** Fixed-capacity ring of numbers with exact percentiles over what it holds. */
export class SlidingWindow {
  private readonly values: Float64Array;
  private next = 0;
  private count = 0;

  constructor(readonly capacity = 200) {
    this.values = new Float64Array(capacity);
  }

  push(v: number): void {
    this.values[this.next] = v;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  get size(): number {
    return this.count;
  }

  sum(): number {
    let s = 0;
    for (let i = 0; i < this.count; i++) s += this.values[i];
    return s;
  }

  mean(): number {
    return this.count === 0 ? 0 : this.sum() / this.count;
  }

  /** Nearest-rank percentile (p in 0..100) of the values held. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const sorted = Array.from(this.values.subarray(0, this.count)).sort((a, b) => a - b);
    const rank = Math.min(this.count - 1, Math.max(0, Math.ceil((p / 100) * this.count) - 1));
    return sorted[rank];
  }

  clear(): void {
    this.next = 0;
    this.count = 0;
  }
}
