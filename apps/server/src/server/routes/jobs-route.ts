import { randomUUID } from 'node:crypto';
import { EchoPanelError } from '@echopanel/core';
import type { FastifyInstance } from 'fastify';
import type { EngineHost } from '../engine-host.js';
import { callbackUrl } from '../jobs/job-callback.js';
import type { JobService } from '../jobs/job-service.js';
import { jobView } from '../jobs/job-view.js';
import { renderTranscript } from '../transcript-format.js';
import { readUploadForm, responseFormat, transcriptionFields } from '../upload-form.js';

const MAX_PAGE = 100;

/**
 * Batch transcription jobs: `POST /v1/jobs` (the upload form of `/v1/audio/transcriptions` plus `callback_url`)
 * answers 202 at once; `GET /v1/jobs/{id}` (state, progress, result; `?response_format=` gives the result
 * alone, exactly as the synchronous endpoint would), `DELETE /v1/jobs/{id}`, `GET /v1/jobs?offset=&limit=`.
 */
export function jobsRoute(app: FastifyInstance, jobs: JobService, engine: EngineHost): void {
  const { queue, storage } = jobs;

  app.post('/v1/jobs', async (req, reply) => {
    const id = randomUUID();
    const gone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    const dir = await storage.create(id);
    try {
      const form = await readUploadForm(req, dir, gone.signal);
      if (!form.file) throw new EchoPanelError('INVALID_REQUEST', 'multipart field "file" is missing: send the audio file in "file"');
      const fields = transcriptionFields(form.fields, engine);
      const record = await queue.submit({
        id,
        ...(form.filename ? { filename: form.filename } : {}),
        ...(fields.language ? { language: fields.language } : {}),
        ...(fields.prompt ? { prompt: fields.prompt } : {}),
        granularities: fields.granularities,
        format: fields.format,
        ...optional('callbackUrl', callbackUrl(form.fields.callback_url?.[0])),
        createdAt: Date.now(),
      });
      return await reply.code(202).header('location', `/v1/jobs/${id}`).send(jobView(record));
    } catch (err) {
      await storage.remove(id);
      throw err;
    }
  });

  app.get<{ Params: { id: string }; Querystring: { response_format?: string } }>('/v1/jobs/:id', async (req, reply) => {
    const record = await queue.get(req.params.id);
    if (!record) throw notFound(req.params.id);
    if (req.query.response_format === undefined) return jobView(record);
    const format = responseFormat(req.query.response_format);
    if (!record.result) {
      const why = record.error ? `: ${record.error.code}: ${record.error.message}` : '; poll GET /v1/jobs/{id} until status is completed';
      throw new EchoPanelError('JOB_NOT_COMPLETED', `job ${req.params.id} is ${record.status}${why}`, { details: { status: record.status } });
    }
    const out = renderTranscript(format, record.result, record.request.granularities);
    return reply.type(out.type).send(out.body);
  });

  app.delete<{ Params: { id: string } }>('/v1/jobs/:id', async (req) => {
    const record = await queue.cancel(req.params.id);
    if (!record) throw notFound(req.params.id);
    return { id: req.params.id, object: 'transcription.job', deleted: true, status: 'cancelled', previous_status: record.status };
  });

  app.get<{ Querystring: { offset?: string; limit?: string } }>('/v1/jobs', async (req) => {
    const offset = intParam('offset', req.query.offset, 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam('limit', req.query.limit, 20, 1, MAX_PAGE);
    const { records, total } = await queue.list(offset, limit);
    return { object: 'list', data: records.map((r) => jobView(r)), offset, limit, total, has_more: offset + records.length < total };
  });
}

function notFound(id: string): EchoPanelError {
  return new EchoPanelError('JOB_NOT_FOUND', `no job ${id}: it never existed, was cancelled, or finished longer ago than jobs.retainSeconds`);
}

function intParam(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new EchoPanelError('INVALID_REQUEST', `${name} must be an integer from ${min} to ${max} (got "${v}")`, { details: { param: name } });
  }
  return n;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
