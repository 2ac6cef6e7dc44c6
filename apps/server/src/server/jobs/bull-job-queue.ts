import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
  private outage = false;
  private unbuilt = false;
  private readonly connections: Redis[] = [];

  constructor(private readonly options: BullJobQueueOptions) {
    this.client = this.connect(1);
    this.queue = new Queue(QUEUE, { connection: this.client });
    this.producer = new QueueEventsProducer(QUEUE, { connection: this.client });
    this.events = new QueueEvents(QUEUE, { connection: this.connect(null) });
    this.queue.on('error', (err) => this.redisProblem(err));
    this.events.on('error', (err) => this.redisProblem(err));
    this.producer.on('error', (err: Error) => this.redisProblem(err));
    this.events.on(CANCEL_EVENT as 'error', ((args: { jobId?: string }) => {
      if (args.jobId) this.worker?.cancelJob(args.jobId, JOB_CANCELLED);
    }) as never);
  }

  async submit(request: JobRequest): Promise<JobRecord> {
    return this.call(async () => {
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
    return this.call(async () => {
      const job = await this.queue.getJob(id);
      return job ? this.record(job) : undefined;
    });
  }

  async list(offset: number, limit: number): Promise<{ records: JobRecord[]; total: number }> {
    return this.call(async () => {
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
    return this.call(async () => {
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
    if (this.worker || this.unbuilt) return;
    const { options } = this;
    const processor = new URL('./job-processor.js', import.meta.url);
    // The sandbox runs built JavaScript: from TypeScript sources (a dev run, a test) there is none to start.
    if (!existsSync(fileURLToPath(processor))) {
      this.unbuilt = true;
      options.logger.error({ processor: fileURLToPath(processor) }, 'the jobs sandbox is not built (npm run build): this server takes no jobs');
      return;
    }
    const channel = `echopanel-jobs-${process.pid}-${randomUUID()}`;
    this.stopChannel = serveEngineChannel(channel, options.context);
    const sandbox: SandboxSettings = { channel, storageDir: options.storage.dir, ...options.context.limits };
    const lockMs = Math.round(options.stalledSeconds * 1000);
    this.worker = new Worker<JobRequest, JobResult>(QUEUE, processor, {
      connection: this.connect(null),
      name: serverName(),
      concurrency: options.concurrency,
      useWorkerThreads: true,
      workerThreadsOptions: { env: { ...process.env, [SANDBOX_ENV]: JSON.stringify(sandbox) } },
      lockDuration: lockMs,
      stalledInterval: lockMs,
      // A job whose worker died twice (a crash it causes?) fails rather than take down replica after replica.
      maxStalledCount: 2,
    });
    this.worker.on('error', (err) => this.redisProblem(err));
    this.worker.on('completed', (job) => void this.finished(job));
    this.worker.on('failed', (job) => {
      if (job) void this.finished(job);
    });
  }

  async close(graceMs: number): Promise<void> {
    const worker = this.worker;
    // Every step is bounded: with Redis gone BullMQ's closes would wait for a connection that never comes.
    // Without Redis a finished job could not be recorded anyway: no point waiting for running ones.
    if (worker && !(await within(worker.close(), this.outage ? 0 : graceMs))) {
      // Jobs still running are left locked: their lock expires and another replica takes them over.
      await within(worker.close(true), 2000);
    }
    this.stopChannel?.();
    this.callbacks.abort();
    await within(Promise.allSettled([this.events.close(), this.producer.close(), this.queue.close()]), 2000);
    for (const c of this.connections) c.disconnect();
  }

  /** A Redis client whose errors are logged (once per outage) instead of printed by ioredis. `null` retries: BullMQ's blocking clients. */
  private connect(maxRetriesPerRequest: number | null): Redis {
    const redis = new Redis(this.options.redisUrl, { maxRetriesPerRequest });
    this.connections.push(redis);
    redis.on('error', (err) => this.redisProblem(err));
    redis.on('ready', () => {
      if (this.outage) this.options.logger.info({ redis: safeUrl(this.options.redisUrl) }, 'job queue Redis reachable again');
      this.outage = false;
    });
    return redis;
  }

  private redisProblem(err: Error): void {
    if (this.outage) return;
    this.outage = true;
    this.options.logger.warn({ redis: safeUrl(this.options.redisUrl), err: errorMessage(err) }, 'job queue Redis unreachable: /v1/jobs answers 503 JOBS_UNAVAILABLE until it is back');
  }

  /**
   * An API call on Redis: JOBS_UNAVAILABLE (503, retry) at once while Redis is unreachable, or when it does not
   * answer within 10 s, rather than a request that hangs; EchoPanelErrors pass.
   */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    const unavailable = (why: string, cause?: unknown) =>
      new EchoPanelError('JOBS_UNAVAILABLE', `the job queue (Redis at ${safeUrl(this.options.redisUrl)}) is unavailable: ${why}; retry later`, { cause });
    if (this.client.status !== 'ready') throw unavailable(`not connected (${this.client.status})`);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([fn(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(unavailable('no answer within 10 s')), 10_000)))]);
    } catch (err) {
      if (err instanceof EchoPanelError) throw err;
      throw unavailable(errorMessage(err), err);
    } finally {
      clearTimeout(timer);
    }
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

  private async record(fetched: Job<JobRequest, JobResult>): Promise<JobRecord> {
    let job = fetched;
    const state = await job.getState();
    // The job may have completed between the fetch and the state read: its snapshot then has no result yet.
    if (state === 'completed' && (job.returnvalue === null || job.returnvalue === undefined)) {
      job = (await this.queue.getJob(String(job.id))) ?? job;
    }
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
      // A queued job with a failure is waiting for its retry: the failure is the last try's.
      ...(status === 'failed' || (status === 'queued' && job.failedReason) ? { error: decodeFailure(job.failedReason) } : {}),
      ...(status === 'completed' ? { result: job.returnvalue } : {}),
    };
  }
}

/** True when `p` settles within `ms` (its outcome does not matter), false on the timeout. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = p.then(() => true, () => true);
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  const done = await Promise.race([settled, late]);
  clearTimeout(timer);
  return done;
}

/** The URL without its password, for messages and logs. */
function safeUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
