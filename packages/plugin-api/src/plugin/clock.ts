/** Time source, injectable so timing-driven logic (ladder, windows) is testable exactly. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Wall-clock time for reports. */
  date(): Date;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  date: () => new Date(),
};
