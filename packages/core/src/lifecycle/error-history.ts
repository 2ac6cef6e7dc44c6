import { type Clock, errorMessage, isEchoPanelError } from '@echopanel/plugin-api';
import type { ErrorRecord } from '../health/provider-health.js';

/** The last `capacity` errors with times (not just the last one). */
export class ErrorHistory {
  private readonly items: ErrorRecord[] = [];

  constructor(
    private readonly clock: Clock,
    readonly capacity = 10,
  ) {}

  record(err: unknown, phase?: string): ErrorRecord {
    const rec: ErrorRecord = {
      code: isEchoPanelError(err) ? err.code : 'INTERNAL',
      message: errorMessage(err),
      at: this.clock.date().toISOString(),
      ...(phase ? { phase } : {}),
    };
    this.items.push(rec);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
    return rec;
  }

  get last(): ErrorRecord | undefined {
    return this.items[this.items.length - 1];
  }

  list(): ErrorRecord[] {
    return [...this.items];
  }
}
