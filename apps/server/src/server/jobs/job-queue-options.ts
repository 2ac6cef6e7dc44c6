import type { Logger } from '@echopanel/core';
import type { JobStorage } from './job-storage.js';
import type { JobContext } from './job-transcriber.js';

/** What either queue needs (`jobs.*` and the server's engine), see job-service.ts. */
export interface JobQueueOptions {
  readonly storage: JobStorage;
  readonly context: JobContext;
  readonly concurrency: number;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly retainSeconds: number;
  readonly callbackAttempts: number;
  /** Signs callbacks (`server.apiKey`). */
  readonly apiKey?: string;
  readonly logger: Logger;
}
