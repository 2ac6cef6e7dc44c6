import os from 'node:os';
import path from 'node:path';
import { errorMessage, type EchoPanelRuntime, type Logger } from '@echopanel/core';
import type { EngineHost } from '../engine-host.js';
import type { ServerMetrics } from '../metrics.js';
import { BullJobQueue } from './bull-job-queue.js';
import { InProcessJobQueue } from './in-process-job-queue.js';
import { JobStorage } from './job-storage.js';
import type { JobQueue } from './job-types.js';

/** The jobs feature of one server: its queue, where the audio lives, the retention sweep. */
export interface JobService {
  readonly queue: JobQueue;
  readonly storage: JobStorage;
  /** For `/capabilities`. */
  info(): Record<string, unknown>;
  /** Starts taking jobs (called once the model is READY; idempotent). */
  start(): void;
  close(graceMs: number): Promise<void>;
}

/** The jobs service `jobs.*` asks for: BullMQ on `jobs.redisUrl`, else in-process. */
export function createJobService(runtime: EchoPanelRuntime, engine: EngineHost, metrics: ServerMetrics, logger: Logger): JobService {
  const cfg = runtime.config.jobs;
  const server = runtime.config.server;
  const dir = cfg.storageDir ? path.resolve(runtime.configDir, cfg.storageDir) : path.join(os.tmpdir(), 'echopanel-jobs');
  const storage = new JobStorage(dir);
  const log = logger.child({ component: 'jobs' });
  const common = {
    storage,
    context: { engine, metrics, limits: { resampleOtherRates: server.resampleOtherRates, maxUploadSeconds: server.limits.maxUploadSeconds } },
    concurrency: cfg.concurrency,
    attempts: cfg.attempts,
    backoffMs: cfg.backoffMs,
    retainSeconds: cfg.retainSeconds,
    callbackAttempts: cfg.callbackAttempts,
    apiKey: server.apiKey,
    logger: log,
  };
  const queue: JobQueue = cfg.redisUrl
    ? new BullJobQueue({ ...common, redisUrl: cfg.redisUrl, stalledSeconds: cfg.stalledSeconds })
    : new InProcessJobQueue(common);
  const retainMs = cfg.retainSeconds * 1000;
  const sweep = setInterval(() => {
    void storage
      .sweep(retainMs, async (id) => {
        const r = await queue.get(id);
        if (!r) return null;
        return r.status === 'completed' || r.status === 'failed' ? r.finishedAt ?? 0 : undefined;
      })
      .catch((err: unknown) => log.warn({ dir, err: errorMessage(err) }, 'job audio sweep failed'));
  }, Math.min(retainMs, 60_000));
  sweep.unref();
  return {
    queue,
    storage,
    info: () => ({
      enabled: true,
      queue: queue.kind,
      // In-process jobs live and die with this server; on Redis every replica shares them.
      shared: queue.kind === 'redis',
      concurrency: cfg.concurrency,
      retainSeconds: cfg.retainSeconds,
    }),
    start: () => queue.start(),
    close: async (graceMs) => {
      clearInterval(sweep);
      await queue.close(graceMs);
    },
  };
}
