/**
 * BullMQ's sandboxed processor (a worker thread per concurrent job, see bull-job-queue.ts): FFmpeg decoding and
 * the job's bookkeeping happen here, off the thread that renews the job's lock; the transcription goes to the
 * engine in the server's main thread (engine-channel.ts), so the model is loaded once per server, not per job.
 */
import { randomUUID } from 'node:crypto';
import { UnrecoverableError, type SandboxedJob } from 'bullmq';
import { decodeUpload } from '../upload-decoder.js';
import { transcribeViaEngine } from './engine-channel.js';
import { encodeFailure, isTransient, jobFailure } from './job-errors.js';
import { JobStorage } from './job-storage.js';
import { cancelled } from './job-transcriber.js';
import type { JobRequest, JobResult } from './job-types.js';

/** What the server hands its sandboxes (in their environment, as JSON under this name). */
export const SANDBOX_ENV = 'ECHOPANEL_JOB_SANDBOX';

export interface SandboxSettings {
  readonly channel: string;
  readonly storageDir: string;
  readonly resampleOtherRates: boolean;
  readonly maxUploadSeconds: number;
}

export default async function processJob(job: SandboxedJob<JobRequest, JobResult>, _token?: string, signal?: AbortSignal): Promise<JobResult> {
  const settings = JSON.parse(process.env[SANDBOX_ENV] ?? '{}') as SandboxSettings;
  const storage = new JobStorage(settings.storageDir);
  const request = job.data;
  const abort = signal ?? new AbortController().signal;
  try {
    await job.updateProgress(0);
    const recording = await decodeUpload(storage.uploadPath(request.id), {
      resampleOtherRates: settings.resampleOtherRates,
      maxUploadSeconds: settings.maxUploadSeconds,
      tmpDir: storage.jobDir(request.id),
      signal: abort,
    });
    try {
      return await transcribeViaEngine(settings.channel, randomUUID(), recording.file, request, abort, (p) => void job.updateProgress(p));
    } finally {
      await recording.dispose();
    }
  } catch (err) {
    const failure = jobFailure(abort.aborted ? cancelled() : err);
    const reason = encodeFailure(failure);
    // Bad audio, a refused request or a cancel fail for good: another try would fail the same way.
    throw isTransient(failure) ? new Error(reason) : new UnrecoverableError(reason);
  }
}
