import { renderTranscript, type ResponseFormat } from '../transcript-format.js';
import type { JobRecord } from './job-types.js';

/** `GET /v1/jobs/{id}`'s body: the job's state and, once completed, its result in `format` (the job's own by default). */
export function jobView(record: JobRecord, format: ResponseFormat = record.request.format): Record<string, unknown> {
  const { request } = record;
  return {
    id: request.id,
    object: 'transcription.job',
    status: record.status,
    progress: record.status === 'completed' ? 1 : Math.round(record.progress * 1000) / 1000,
    attempts: record.attempts,
    created_at: iso(request.createdAt),
    started_at: iso(record.startedAt),
    finished_at: iso(record.finishedAt),
    ...(record.processedBy ? { processed_by: record.processedBy } : {}),
    ...(request.filename ? { filename: request.filename } : {}),
    ...(record.error ? { error: record.error } : {}),
    ...(record.result
      ? { response_format: format, result: renderTranscript(format, record.result, request.granularities).body, duration: record.result.duration }
      : {}),
  };
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
