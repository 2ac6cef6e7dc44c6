import type { Clock } from '@echopanel/plugin-api';

/** A clock tests move by hand (the Clock interface is the boundary; timing logic stays real). */
export class FakeClock implements Clock {
  private ms = 0;
  constructor(private readonly epoch = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.ms;
  }
  date(): Date {
    return new Date(this.epoch + this.ms);
  }
  /** Sets the time to `seconds` after the start. */
  at(seconds: number): this {
    this.ms = seconds * 1000;
    return this;
  }
}
