import { EchoPanelError, type PcmRecording } from '@echopanel/core';
import type { EngineHost } from '../engine-host.js';
import { assertTranscribed, transcribeFile } from '../file-transcriber.js';
import type { ServerMetrics } from '../metrics.js';
import { decodeUpload, type UploadDecodeOptions } from '../upload-decoder.js';
import { JOB_CANCELLED } from './job-errors.js';
import type { JobRequest, JobResult } from './job-types.js';

/** What a job's transcription needs from the server: the engine, the upload rules, where progress goes. */
export interface JobContext {
  readonly engine: EngineHost;
  readonly metrics?: ServerMetrics;
  readonly limits: Omit<UploadDecodeOptions, 'tmpDir' | 'signal'>;
}

/** The same transcription as `/v1/audio/transcriptions` gives, of a decoded job upload; progress is the share of audio decoded. */
export async function transcribeJob(
  ctx: JobContext,
  recording: PcmRecording,
  request: JobRequest,
  signal: AbortSignal,
  onProgress: (progress: number) => void,
): Promise<JobResult> {
  const duration = recording.length / 16000;
  let decoded = 0;
  const result = await transcribeFile(recording, {
    provider: ctx.engine.requireProvider(),
    detector: ctx.engine.createDetector(),
    asr: ctx.engine.asrConfig,
    language: request.language,
    prompt: request.prompt,
    wordTimestamps: request.granularities.includes('word'),
    signal,
    onDecode: (ms, seconds) => {
      ctx.metrics?.decodeObserved(ms, seconds);
      decoded += seconds;
      onProgress(Math.min(0.99, decoded / Math.max(duration, 1e-3)));
    },
  });
  if (signal.aborted) throw cancelled();
  assertTranscribed(result);
  return { segments: result.segments, language: request.language ?? ctx.engine.asrConfig.language, duration, droppedSamples: result.stats.droppedSamples };
}

/** Decodes and transcribes a job in this thread (the in-process queue). */
export async function runJobHere(ctx: JobContext, upload: string, tmpDir: string, request: JobRequest, signal: AbortSignal, onProgress: (p: number) => void): Promise<JobResult> {
  const recording = await decodeUpload(upload, { ...ctx.limits, tmpDir, signal });
  try {
    return await transcribeJob(ctx, recording, request, signal, onProgress);
  } finally {
    await recording.dispose();
  }
}

export function cancelled(): EchoPanelError {
  return new EchoPanelError(JOB_CANCELLED, 'the job was cancelled (DELETE /v1/jobs/{id})');
}
