import { rms } from '@echopanel/plugin-api';

/** Windows of level history the noise floor is taken from (~8 s of 32 ms windows). */
const HISTORY = 256;
/** A window is sound at this many dB above the noise floor … */
const SOUND_ABOVE_FLOOR_DB = 15;
/** … and never below this level, so digital silence does not make every rustle "sound". */
const SOUND_MIN_DB = -50;
/** A window is background (quiet) up to this many dB above the noise floor, or at or below QUIET_MIN_DB. */
const QUIET_ABOVE_FLOOR_DB = 6;
const QUIET_MIN_DB = -60;

/** How a window's level compares with the stream's background. */
export type LevelClass = 'sound' | 'quiet' | 'between';

/** Level of s16 PCM in dBFS (floored at −120). */
export function levelDb(pcm: Int16Array): number {
  return 20 * Math.log10(Math.max(rms(pcm), 1e-6));
}

/**
 * Tells sound from the background by level: a window is sound when it is well above the stream's noise floor
 * (the 10th percentile of the last ~8 s of window levels). Speech a VAD model does not recognize as speech —
 * whispering, creaky or falsetto voice — is still sound; a steady noise is not.
 */
export class SoundLevelTracker {
  private readonly history = new Float32Array(HISTORY);
  private readonly sorted = new Float32Array(HISTORY);
  private count = 0;
  private next = 0;

  /** Records a window's level (dBFS) and classifies it against the floor before it. */
  observe(db: number): LevelClass {
    const floor = this.floor();
    this.history[this.next] = db;
    this.next = (this.next + 1) % HISTORY;
    this.count = Math.min(HISTORY, this.count + 1);
    if (db >= Math.max(floor + SOUND_ABOVE_FLOOR_DB, SOUND_MIN_DB)) return 'sound';
    if (db <= QUIET_MIN_DB) return 'quiet';
    // Near the floor only counts as quiet once the floor is a background well below the loudest recent sound
    // (a stream that starts mid-sentence has its floor inside the speech).
    return db <= floor + QUIET_ABOVE_FLOOR_DB && this.loudest() - floor >= SOUND_ABOVE_FLOOR_DB + QUIET_ABOVE_FLOOR_DB ? 'quiet' : 'between';
  }

  private loudest(): number {
    let max = -120;
    for (let i = 0; i < this.count; i++) max = Math.max(max, this.history[i]);
    return max;
  }

  /** The noise floor in dBFS (−120 before any window). */
  floor(): number {
    if (this.count === 0) return -120;
    const view = this.sorted.subarray(0, this.count);
    view.set(this.history.subarray(0, this.count));
    view.sort();
    return view[Math.floor(this.count * 0.1)];
  }

  reset(): void {
    this.count = 0;
    this.next = 0;
  }
}
