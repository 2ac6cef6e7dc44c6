import { errorMessage } from '@echopanel/core';
import { deliverCallback } from './job-callback.js';
import { JOB_CANCELLED, isTransient, jobFailure } from './job-errors.js';
import type { JobQueueOptions } from './job-queue-options.js';
import { serverName } from './server-name.js';
import { cancelled, runJobHere } from './job-transcriber.js';
import type { JobFailure, JobQueue, JobRecord, JobRequest } from './job-types.js';
import { jobView } from './job-view.js';

interface Entry {
  record: JobRecord;
  abort?: AbortController;
  retryTimer?: NodeJS.Timeout;
}

/**
 * The jobs API without Redis (the embedded default): the same states, retries, progress, cancel and callbacks,
 * held in this process. Jobs do not survive a restart and are not shared with other servers.
 */
export class InProcessJobQueue implements JobQueue {
  readonly kind = 'in-process' as const;
  private readonly jobs = new Map<string, Entry>();
  private readonly waiting: string[] = [];
  private active = 0;
  private started = false;
  private closed = false;
  private readonly callbacks = new AbortController();

  constructor(private readonly options: JobQueueOptions) {}

  async submit(request: JobRequest): Promise<JobRecord> {
    const record: JobRecord = { request, status: 'queued', progress: 0, attempts: 0 };
    this.jobs.set(request.id, { record });
    this.waiting.push(request.id);
    this.pump();
    return record;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    this.expire();
    return this.jobs.get(id)?.record;
  }

  async list(offset: number, limit: number): Promise<{ records: JobRecord[]; total: number }> {
    this.expire();
    const all = [...this.jobs.values()].map((e) => e.record).sort((a, b) => b.request.createdAt - a.request.createdAt);
    return { records: all.slice(offset, offset + limit), total: all.length };
  }

  async cancel(id: string): Promise<JobRecord | undefined> {
    const entry = this.jobs.get(id);
    if (!entry) return undefined;
    const { record } = entry;
    this.jobs.delete(id);
    const i = this.waiting.indexOf(id);
    if (i >= 0) this.waiting.splice(i, 1);
    clearTimeout(entry.retryTimer);
    entry.abort?.abort();
    await this.options.storage.remove(id);
    return record;
  }

  start(): void {
    this.started = true;
    this.pump();
  }

  async close(graceMs: number): Promise<void> {
    this.closed = true;
    const deadline = Date.now() + graceMs;
    while (this.active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const e of this.jobs.values()) {
      e.abort?.abort();
      clearTimeout(e.retryTimer);
    }
    this.callbacks.abort();
  }

  private pump(): void {
    while (this.started && !this.closed && this.active < this.options.concurrency && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      const entry = this.jobs.get(id);
      if (entry) void this.run(entry);
    }
  }

  private async run(entry: Entry): Promise<void> {
    const { request } = entry.record;
    const abort = new AbortController();
    entry.abort = abort;
    this.active++;
    const attempts = entry.record.attempts + 1;
    entry.record = { ...entry.record, status: 'active', progress: 0, attempts, startedAt: Date.now(), processedBy: serverName() };
    const { storage, context } = this.options;
    let failure: JobFailure | undefined;
    try {
      const result = await runJobHere(context, storage.uploadPath(request.id), storage.jobDir(request.id), request, abort.signal, (progress) => {
        entry.record = { ...entry.record, progress };
      });
      if (abort.signal.aborted) throw cancelled();
      entry.record = { ...entry.record, status: 'completed', progress: 1, finishedAt: Date.now(), result, error: undefined };
    } catch (err) {
      failure = jobFailure(abort.signal.aborted ? cancelled() : err);
    } finally {
      this.active--;
      entry.abort = undefined;
    }
    if (failure && failure.code !== JOB_CANCELLED && isTransient(failure) && attempts < this.options.attempts && !this.closed) {
      entry.record = { ...entry.record, status: 'queued', progress: 0, error: failure };
      entry.retryTimer = setTimeout(() => {
        this.waiting.push(request.id);
        this.pump();
      }, this.options.backoffMs * 2 ** (attempts - 1));
    } else if (failure) {
      entry.record = { ...entry.record, status: 'failed', finishedAt: Date.now(), error: failure };
    }
    this.pump();
    if (this.jobs.get(request.id) === entry && (entry.record.status === 'completed' || entry.record.status === 'failed')) void this.notify(entry.record);
  }

  private async notify(record: JobRecord): Promise<void> {
    const url = record.request.callbackUrl;
    if (!url) return;
    const { options } = this;
    try {
      await deliverCallback(url, jobView(record), { apiKey: options.apiKey, attempts: options.callbackAttempts, backoffMs: options.backoffMs, logger: options.logger, signal: this.callbacks.signal });
    } catch (err) {
      options.logger.warn({ job: record.request.id, err: errorMessage(err) }, 'job callback failed');
    }
  }

  /** Finished jobs past jobs.retainSeconds leave the list (their audio goes with the storage sweep). */
  private expire(): void {
    const cutoff = Date.now() - this.options.retainSeconds * 1000;
    for (const [id, e] of this.jobs) if (e.record.finishedAt !== undefined && e.record.finishedAt < cutoff) this.jobs.delete(id);
  }
}
