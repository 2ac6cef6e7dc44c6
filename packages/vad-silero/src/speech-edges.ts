/** Loudness blocks per model window: 8 ms at either rate (128 samples at 16 kHz, 64 at 8 kHz). */
export const BLOCKS_PER_WINDOW = 4;

/**
 * How far an edge may move: Silero's probability lags the sound by up to ~135 ms at an end (it stays high into
 * the silence) and ~100 ms at a start (it rises late on an unvoiced onset such as /s/).
 */
const MAX_MOVE_WINDOWS = 5;
/** Windows whose loudness sets the floor: the silence after an end, the silence before a start's candidates. */
const FLOOR_WINDOWS = 5;
/** The current window, the candidates before it and, for starts, the floor windows before those. */
const RING_WINDOWS = 1 + MAX_MOVE_WINDOWS + FLOOR_WINDOWS;
/**
 * A block this much louder than the floor is sound. The level of a 128-sample block of steady noise varies by
 * ~0.5 dB, so 3 dB moves an edge only over what is indistinguishable from the silence next to it. Measured on a
 * final "g" under white noise of amplitude 0.05: 6 dB ended the segment 37 ms before its last sample, 3 dB 13 ms
 * (before the 30 ms padding).
 */
const MARGIN_DB = 3;
/** Blocks quieter than this are silence whatever the floor (dither and resampling ripple around digital zero). */
const SILENCE_DBFS = -70;

/** Mean-square level in dBFS of `x` (floats in [-1, 1)), −120 for digital silence. */
export function levelDb(x: Float32Array, from: number, to: number): number {
  let q = 0;
  for (let i = from; i < to; i++) q += x[i] * x[i];
  return 10 * Math.log10(q / Math.max(1, to - from) + 1e-12);
}

/**
 * Moves Silero's speech edges to where the sound starts and stops, by 8 ms blocks of loudness: an end back over
 * trailing blocks no louder than the silence that follows it, a start back over leading blocks louder than the
 * silence before them. The floor is measured next to each edge, so a noisy room and digital silence are handled
 * alike. Constant memory: a ring of the last few windows' block levels and one snapshot.
 */
export class SpeechEdgeRefiner {
  private readonly blockSamples: number;
  /** Block levels of the last RING_WINDOWS windows; `ringPos` is the slot the next window goes to. */
  private readonly ring = new Float64Array(RING_WINDOWS * BLOCKS_PER_WINDOW);
  private ringWindows = 0;
  private ringPos = 0;
  /** The blocks before the marked silence start (sample `markedAt`), oldest first. */
  private readonly before = new Float64Array(MAX_MOVE_WINDOWS * BLOCKS_PER_WINDOW);
  private beforeBlocks = 0;
  /** Block levels from the marked silence start on (at most FLOOR_WINDOWS windows). */
  private readonly after = new Float64Array(FLOOR_WINDOWS * BLOCKS_PER_WINDOW);
  private afterBlocks = 0;
  private markedAt = -1;

  /** How far an edge can move back: speech this recent is not yet settled. */
  readonly maxMoveSamples: number;

  constructor(windowSamples: number) {
    this.blockSamples = windowSamples / BLOCKS_PER_WINDOW;
    this.maxMoveSamples = MAX_MOVE_WINDOWS * windowSamples;
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
   * Speech starts in the current window (the last observed), at sample `at`: where the sound began, moved back
   * over the preceding blocks that are louder than the floor before them, but not before `notBefore`.
   */
  refineStart(at: number, notBefore: number): number {
    // At least one window before the candidates is needed for the floor.
    const candidates = Math.min(MAX_MOVE_WINDOWS, this.ringWindows - 2);
    if (candidates <= 0) return at;
    const floorWindows = this.ringWindows - 1 - candidates;
    const floor = median(this.windowBlocks(this.ringWindows, floorWindows));
    const limit = Math.max(floor + MARGIN_DB, SILENCE_DBFS);
    const blocks = this.windowBlocks(candidates + 1, candidates);
    let b = blocks.length;
    while (b > 0 && blocks[b - 1] > limit) b--;
    return Math.max(notBefore, at - (blocks.length - b) * this.blockSamples);
  }

  /**
   * The current window (the last observed) starts a silence at sample `at`: keep the windows before it as
   * candidates for the end and start measuring the floor after it.
   */
  markSilenceStart(at: number): void {
    if (this.ringWindows === 0) return;
    const windowsBefore = Math.min(MAX_MOVE_WINDOWS, this.ringWindows - 1);
    this.before.set(this.windowBlocks(windowsBefore + 1, windowsBefore));
    this.beforeBlocks = windowsBefore * BLOCKS_PER_WINDOW;
    this.after.set(this.windowBlocks(1, 1));
    this.afterBlocks = BLOCKS_PER_WINDOW;
    this.markedAt = at;
  }

  /**
   * Where speech that Silero ends at `rawEnd` really stops: never later than `rawEnd`, never earlier than
   * `notBefore`. Unchanged unless `rawEnd` is the marked silence start.
   */
  refineEnd(rawEnd: number, notBefore: number): number {
    if (rawEnd !== this.markedAt || this.beforeBlocks === 0) return rawEnd;
    const limit = Math.max(median(this.after.subarray(0, this.afterBlocks)) + MARGIN_DB, SILENCE_DBFS);
    let b = this.beforeBlocks;
    while (b > 0 && this.before[b - 1] <= limit) b--;
    return Math.max(notBefore, rawEnd - (this.beforeBlocks - b) * this.blockSamples);
  }

  reset(): void {
    this.ringWindows = this.ringPos = 0;
    this.beforeBlocks = this.afterBlocks = 0;
    this.markedAt = -1;
  }

  /** Block levels of `count` consecutive windows, the oldest `ago` windows back (1 = the current), oldest first. */
  private windowBlocks(ago: number, count: number): Float64Array {
    const out = new Float64Array(count * BLOCKS_PER_WINDOW);
    for (let w = 0; w < count; w++) {
      const slot = (this.ringPos - ago + w + 2 * RING_WINDOWS) % RING_WINDOWS;
      out.set(this.ring.subarray(slot * BLOCKS_PER_WINDOW, (slot + 1) * BLOCKS_PER_WINDOW), w * BLOCKS_PER_WINDOW);
    }
    return out;
  }
}

function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) >> 1] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}
