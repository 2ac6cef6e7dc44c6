import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, QueueEventsProducer, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { EchoPanelError, errorMessage } from '@echopanel/core';
import { serveEngineChannel } from './engine-channel.js';
import { deliverCallback } from './job-callback.js';
import { JOB_CANCELLED, decodeFailure } from './job-errors.js';
import { SANDBOX_ENV, type SandboxSettings } from './job-processor.js';
import type { JobQueueOptions } from './job-queue-options.js';
import { serverName } from './server-name.js';
import type { JobQueue, JobRecord, JobRequest, JobResult, JobStatus } from './job-types.js';
import { jobView } from './job-view.js';

export interface BullJobQueueOptions extends JobQueueOptions {
  readonly redisUrl: string;
  readonly stalledSeconds: number;
}

const QUEUE = 'echopanel-transcriptions';
const CANCEL_EVENT = 'echopanel-cancel';

/**
 * Jobs on a shared Redis with BullMQ: any replica takes the next job, processes it in a sandboxed worker thread
 * (job-processor.ts) with `concurrency` slots, retries transient failures with exponential backoff, and takes
 * over a job whose worker died once its lock expires (stalled-job recovery). A cancel is published on the
 * queue's event stream so the replica running the job stops it.
 */
export class BullJobQueue implements JobQueue {
  readonly kind = 'redis' as const;
  private readonly client: Redis;
  private readonly queue: Queue<JobRequest, JobResult>;
  private readonly events: QueueEvents;
  private readonly producer: QueueEventsProducer;
  private worker?: Worker<JobRequest, JobResult>;
  private stopChannel?: () => void;
  private readonly indexKey = `bull:${QUEUE}:echopanel:created`;
  private readonly callbacks = new AbortController();

  constructor(private readonly options: BullJobQueueOptions) {
    const url = options.redisUrl;
    // API calls fail fast (503) when Redis is down rather than queue forever; BullMQ's blocking clients retry.
    this.client = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: false });
    this.client.on('error', (err) => options.logger.warn({ err: errorMessage(err) }, 'job queue Redis connection error'));
    this.queue = new Queue(QUEUE, { connection: this.client });
    this.producer = new QueueEventsProducer(QUEUE, { connection: this.client });
    this.events = new QueueEvents(QUEUE, { connection: new Redis(url, { maxRetriesPerRequest: null }) });
    this.events.on('error', (err) => options.logger.warn({ err: errorMessage(err) }, 'job events error'));
    this.events.on(CANCEL_EVENT as 'error', ((args: { jobId?: string }) => {
      if (args.jobId) this.worker?.cancelJob(args.jobId, JOB_CANCELLED);
    }) as never);
  }

  async submit(request: JobRequest): Promise<JobRecord> {
    return redisCall(this.options.redisUrl, async () => {
      const retain = { age: this.options.retainSeconds };
      const job = await this.queue.add('transcribe', request, {
        jobId: request.id,
        attempts: this.options.attempts,
        backoff: { type: 'exponential', delay: this.options.backoffMs },
        removeOnComplete: retain,
        removeOnFail: retain,
      });
      await this.client.zadd(this.indexKey, request.createdAt, request.id);
      return this.record(job);
    });
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return redisCall(this.options.redisUrl, async () => {
      const job = await this.queue.getJob(id);
      return job ? this.record(job) : undefined;
    });
  }

  async list(offset: number, limit: number): Promise<{ records: JobRecord[]; total: number }> {
    return redisCall(this.options.redisUrl, async () => {
      const ids = await this.client.zrevrange(this.indexKey, offset, offset + limit - 1);
      const records: JobRecord[] = [];
      for (const id of ids) {
        const job = await this.queue.getJob(id);
        // Jobs past jobs.retainSeconds are gone from BullMQ: drop them from the index as well.
        if (job) records.push(await this.record(job));
        else await this.client.zrem(this.indexKey, id);
      }
      return { records, total: await this.client.zcard(this.indexKey) };
    });
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    return redisCall(this.options.redisUrl, async () => {
      const job = await this.queue.getJob(id);
      if (!job) return undefined;
      const record = await this.record(job);
      if ((await job.getState()) === 'active') {
        await this.producer.publishEvent({ eventName: CANCEL_EVENT, jobId: id });
        await this.untilNotActive(job);
      }
      try {
        await job.remove();
      } catch (err) {
        throw new EchoPanelError('JOB_BUSY', `job ${id} is still running and could not be stopped (${errorMessage(err)}); retry the DELETE`, { cause: err });
      }
      await this.client.zrem(this.indexKey, id);
      await this.options.storage.remove(id);
      return record;
    });
  }

  start(): void {
    if (this.worker) return;
    const { options } = this;
    const channel = `echopanel-jobs-${process.pid}-${randomUUID()}`;
    this.stopChannel = serveEngineChannel(channel, options.context);
    const sandbox: SandboxSettings = { channel, storageDir: options.storage.dir, ...options.context.limits };
    const lockMs = Math.round(options.stalledSeconds * 1000);
    this.worker = new Worker<JobRequest, JobResult>(QUEUE, new URL('./job-processor.js', import.meta.url), {
      connection: new Redis(options.redisUrl, { maxRetriesPerRequest: null }),
      name: serverName(),
      concurrency: options.concurrency,
      useWorkerThreads: true,
      workerThreadsOptions: { env: { ...process.env, [SANDBOX_ENV]: JSON.stringify(sandbox) } },
      lockDuration: lockMs,
      stalledInterval: lockMs,
      // A job whose worker died twice (a crash it causes?) fails rather than take down replica after replica.
      maxStalledCount: 2,
    });
    this.worker.on('error', (err) => options.logger.warn({ err: errorMessage(err) }, 'job worker error'));
    this.worker.on('completed', (job) => void this.finished(job));
    this.worker.on('failed', (job) => {
      if (job) void this.finished(job);
    });
  }

  async close(graceMs: number): Promise<void> {
    const worker = this.worker;
    if (worker) {
      let timer: NodeJS.Timeout | undefined;
      const drained = await Promise.race([worker.close().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)))]);
      clearTimeout(timer);
      // Jobs still running are left locked: their lock expires and another replica takes them over.
      if (!drained) await worker.close(true);
    }
    this.stopChannel?.();
    this.callbacks.abort();
    await Promise.allSettled([this.events.close(), this.producer.close(), this.queue.close()]);
    this.client.disconnect();
  }

  private async untilNotActive(job: Job, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until && (await job.getState()) === 'active') await new Promise((r) => setTimeout(r, 100));
  }

  /** After each try: a job that ended for good (not cancelled) tells its callback_url. */
  private async finished(job: Job<JobRequest, JobResult>): Promise<void> {
    const url = job.data.callbackUrl;
    if (!url) return;
    try {
      const state = await job.getState();
      if (state !== 'completed' && state !== 'failed') return;
      const record = await this.record(job);
      if (record.error?.code === JOB_CANCELLED) return;
      const { options } = this;
      await deliverCallback(url, jobView(record), {
        apiKey: options.apiKey,
        attempts: options.callbackAttempts,
        backoffMs: options.backoffMs,
        logger: options.logger,
        signal: this.callbacks.signal,
      });
    } catch (err) {
      this.options.logger.warn({ job: job.id, err: errorMessage(err) }, 'job callback failed');
    }
  }

  private async record(job: Job<JobRequest, JobResult>): Promise<JobRecord> {
    const state = await job.getState();
    const status: JobStatus = state === 'active' || state === 'completed' || state === 'failed' ? state : 'queued';
    const finished = status === 'completed' || status === 'failed';
    return {
      request: job.data,
      status,
      progress: typeof job.progress === 'number' ? job.progress : 0,
      attempts: job.attemptsStarted,
      ...(job.processedOn ? { startedAt: job.processedOn } : {}),
      ...(job.processedBy ? { processedBy: job.processedBy } : {}),
      ...(finished && job.finishedOn ? { finishedAt: job.finishedOn } : {}),
      ...(status === 'failed' ? { error: decodeFailure(job.failedReason) } : {}),
      ...(status === 'completed' ? { result: job.returnvalue } : {}),
    };
  }
}

/** Redis unreachable is JOBS_UNAVAILABLE (503, retry) naming the URL without its password; our own errors pass. */
async function redisCall<T>(url: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof EchoPanelError) throw err;
    const safe = url.replace(/\/\/[^@/]*@/, '//***@');
    throw new EchoPanelError('JOBS_UNAVAILABLE', `the job queue (Redis at ${safe}) did not answer: ${errorMessage(err)}; retry later`, { cause: err });
  }
}
