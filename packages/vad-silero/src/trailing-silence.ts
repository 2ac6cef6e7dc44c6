/** Loudness blocks per model window: 8 ms at either rate (128 samples at 16 kHz, 64 at 8 kHz). */
export const BLOCKS_PER_WINDOW = 4;

/** How far back a speech end may move: Silero's hangover after a final sound measured 40–135 ms. */
const MAX_TRIM_WINDOWS = 5;
/** The windows that may be trimmed plus the one that starts the silence. */
const RING_WINDOWS = MAX_TRIM_WINDOWS + 1;
/** Windows from the silence start on whose loudness sets the local floor. */
const FLOOR_WINDOWS = 4;
/**
 * A block this much louder than the floor is still speech. The level of a 128-sample block of steady noise
 * varies by ~0.5 dB, so 3 dB trims only what is indistinguishable from the silence after it. Measured on a
 * final "g" under white noise of amplitude 0.05: 6 dB ended the segment 37 ms before its last sample, 3 dB 13 ms
 * (before the 30 ms padding).
 */
const MARGIN_DB = 3;

/** Mean-square level in dBFS of `x` (floats in [-1, 1)), −120 for digital silence. */
export function levelDb(x: Float32Array, from: number, to: number): number {
  let q = 0;
  for (let i = from; i < to; i++) q += x[i] * x[i];
  return 10 * Math.log10(q / Math.max(1, to - from) + 1e-12);
}

/**
 * Moves a speech end back from where Silero's probability fell (it stays high 1–4 windows into silence) to
 * the end of the last 8 ms block that is clearly louder than the silence that follows. The floor comes from
 * the first windows of that silence, so noisy rooms and digital silence are handled alike; a tail that rises
 * above the floor by less than {@link MARGIN_DB} is indistinguishable from it. Constant memory: a ring of the
 * last few windows' block levels and one snapshot.
 */
export class TrailingSilenceTrimmer {
  private readonly blockSamples: number;
  /** Block levels of the last RING_WINDOWS windows; `ringPos` is the slot the next window goes to. */
  private readonly ring = new Float64Array(RING_WINDOWS * BLOCKS_PER_WINDOW);
  private ringWindows = 0;
  private ringPos = 0;
  /** The blocks before the marked silence start (sample `markedAt`), oldest first. */
  private readonly before = new Float64Array(MAX_TRIM_WINDOWS * BLOCKS_PER_WINDOW);
  private beforeBlocks = 0;
  /** Block levels from the marked silence start on (at most FLOOR_WINDOWS windows). */
  private readonly after = new Float64Array(FLOOR_WINDOWS * BLOCKS_PER_WINDOW);
  private afterBlocks = 0;
  private markedAt = -1;

  /** How far before the silence start a refined end can lie: speech this recent is not yet settled. */
  readonly maxTrimSamples: number;

  constructor(windowSamples: number) {
    this.blockSamples = windowSamples / BLOCKS_PER_WINDOW;
    this.maxTrimSamples = MAX_TRIM_WINDOWS * windowSamples;
  }

  /** Records the current window's block levels; call before the segmenter decides on that window. */
  observe(levels: ArrayLike<number>): void {
    const base = this.ringPos * BLOCKS_PER_WINDOW;
    for (let b = 0; b < BLOCKS_PER_WINDOW; b++) this.ring[base + b] = levels[b];
    this.ringPos = (this.ringPos + 1) % RING_WINDOWS;
    if (this.ringWindows < RING_WINDOWS) this.ringWindows++;
    if (this.markedAt >= 0 && this.afterBlocks < this.after.length) {
      for (let b = 0; b < BLOCKS_PER_WINDOW; b++) this.after[this.afterBlocks++] = levels[b];
    }
  }

  /**
   * The current window (the last observed) starts a silence at sample `at`: keep the windows before it as
   * candidates to trim and start measuring the floor.
   */
  markSilenceStart(at: number): void {
    if (this.ringWindows === 0) return;
    const windowsBefore = this.ringWindows - 1;
    this.beforeBlocks = windowsBefore * BLOCKS_PER_WINDOW;
    // Ring slot of the oldest window before the current one.
    const first = (this.ringPos - this.ringWindows + RING_WINDOWS) % RING_WINDOWS;
    for (let w = 0; w < windowsBefore; w++) {
      const src = ((first + w) % RING_WINDOWS) * BLOCKS_PER_WINDOW;
      for (let b = 0; b < BLOCKS_PER_WINDOW; b++) this.before[w * BLOCKS_PER_WINDOW + b] = this.ring[src + b];
    }
    const cur = ((this.ringPos - 1 + RING_WINDOWS) % RING_WINDOWS) * BLOCKS_PER_WINDOW;
    for (let b = 0; b < BLOCKS_PER_WINDOW; b++) this.after[b] = this.ring[cur + b];
    this.afterBlocks = BLOCKS_PER_WINDOW;
    this.markedAt = at;
  }

  /**
   * Where speech that Silero ends at `rawEnd` really stops: never later than `rawEnd`, never earlier than
   * `notBefore`. Unchanged unless `rawEnd` is the marked silence start.
   */
  refine(rawEnd: number, notBefore: number): number {
    if (rawEnd !== this.markedAt || this.beforeBlocks === 0) return rawEnd;
    const limit = median(this.after, this.afterBlocks) + MARGIN_DB;
    let b = this.beforeBlocks;
    while (b > 0 && this.before[b - 1] <= limit) b--;
    const end = rawEnd - (this.beforeBlocks - b) * this.blockSamples;
    return Math.max(notBefore, end);
  }

  reset(): void {
    this.ringWindows = this.ringPos = 0;
    this.beforeBlocks = this.afterBlocks = 0;
    this.markedAt = -1;
  }
}

function median(values: Float64Array, n: number): number {
  const sorted = Array.from(values.subarray(0, n)).sort((a, b) => a - b);
  return n % 2 ? sorted[(n - 1) >> 1] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}
