import type { Segment } from '@echopanel/core';
import type { ResponseFormat } from '../transcript-format.js';

/** A job's state as `/v1/jobs` reports it. */
export type JobStatus = 'queued' | 'active' | 'completed' | 'failed';

/** What a job asks for: its queue payload (the audio stays in `jobs.storageDir`, never in the queue). */
export interface JobRequest {
  readonly id: string;
  /** The upload's name as the client sent it. */
  readonly filename?: string;
  readonly language?: string;
  readonly prompt?: string;
  readonly granularities: readonly ('word' | 'segment')[];
  /** The format `GET /v1/jobs/{id}` renders the result in unless `?response_format=` says otherwise. */
  readonly format: ResponseFormat;
  readonly callbackUrl?: string;
  /** Epoch ms. */
  readonly createdAt: number;
}

/** A finished transcription, kept as data and rendered per request. */
export interface JobResult {
  readonly segments: readonly Segment[];
  readonly language: string;
  /** Seconds of audio. */
  readonly duration: number;
  readonly droppedSamples: number;
}

export interface JobFailure {
  readonly code: string;
  readonly message: string;
}

/** One job as a queue knows it. */
export interface JobRecord {
  readonly request: JobRequest;
  readonly status: JobStatus;
  /** 0..1: the share of the audio the engine has decoded. */
  readonly progress: number;
  /** Tries started so far. */
  readonly attempts: number;
  readonly startedAt?: number;
  /** The server (host:pid) that ran the last try. */
  readonly processedBy?: string;
  readonly finishedAt?: number;
  /** Why it failed; while `queued` for a retry, why the last try failed. */
  readonly error?: JobFailure;
  readonly result?: JobResult;
}

/** The jobs API's view of a queue: Redis-backed (shared by replicas) or in-process. */
export interface JobQueue {
  readonly kind: 'redis' | 'in-process';
  /** Enqueues a job whose audio is already at `storage.uploadPath(request.id)`. */
  submit(request: JobRequest): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Newest first. */
  list(offset: number, limit: number): Promise<{ records: JobRecord[]; total: number }>;
  /** Stops the job wherever it runs and deletes it with its audio; undefined when there is no such job. */
  cancel(id: string): Promise<JobRecord | undefined>;
  /** Starts taking jobs (once the model is READY). */
  start(): void;
  /** Stops taking jobs; a job still running after `graceMs` is left for another replica (or lost, in-process). */
  close(graceMs: number): Promise<void>;
}
