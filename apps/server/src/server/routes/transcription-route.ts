import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EchoPanelError, type DecodedRecording } from '@echopanel/core';
import type { FastifyInstance } from 'fastify';
import type { EngineHost } from '../engine-host.js';
import type { ServerMetrics } from '../metrics.js';
import { toApiError } from '../api-error.js';
import { assertTranscribed, transcribeFile } from '../file-transcriber.js';
import { renderTranscript, type ResponseFormat } from '../transcript-format.js';
import { decodeUpload } from '../upload-decoder.js';
import { clientGone, readUploadForm, responseFormat, transcriptionFields } from '../upload-form.js';

export interface TranscriptionRouteOptions {
  readonly resampleOtherRates: boolean;
  /** `server.limits.maxUploadSeconds`. */
  readonly maxUploadSeconds: number;
}

/** `POST /v1/audio/transcriptions`, as OpenAI's API (multipart; any audio FFmpeg decodes). */
export function transcriptionRoute(app: FastifyInstance, engine: EngineHost, metrics: ServerMetrics, options: TranscriptionRouteOptions): void {
  app.post('/v1/audio/transcriptions', async (req, reply) => {
    const started = performance.now();
    let format: ResponseFormat = 'json';
    // The response closing before it was written means the client went away (the request's own 'close' fires
    // as soon as its body has been read, so it cannot tell).
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once('close', onClose);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'echopanel-upload-'));
    let recording: DecodedRecording | undefined;
    try {
      const form = await readUploadForm(req, dir, gone.signal);
      format = responseFormat(form.fields.response_format?.[0]);
      if (!form.file) throw new EchoPanelError('INVALID_REQUEST', 'multipart field "file" is missing: send the audio file in "file"');
      const { granularities, language, prompt } = transcriptionFields(form.fields, engine);
      recording = await decodeUpload(form.file, { ...options, signal: gone.signal, tmpDir: dir });
      const provider = engine.requireProvider();
      const result = await transcribeFile(recording, {
        provider,
        detector: engine.createDetector(),
        asr: engine.asrConfig,
        language,
        prompt,
        wordTimestamps: granularities.includes('word'),
        signal: gone.signal,
        onDecode: (ms, s) => metrics.decodeObserved(ms, s),
      });
      if (gone.signal.aborted) throw clientGone();
      assertTranscribed(result);
      const duration = recording.length / 16000;
      reply.header('x-echopanel-dropped-samples', String(result.stats.droppedSamples));
      metrics.transcriptionDone(format, 200, (performance.now() - started) / 1000);
      const out = renderTranscript(format, { segments: result.segments, language: language ?? engine.asrConfig.language, duration }, granularities);
      return await reply.type(out.type).send(out.body);
    } catch (err) {
      const status = gone.signal.aborted ? CLIENT_CLOSED_REQUEST : toApiError(err).status;
      metrics.transcriptionDone(format, status, (performance.now() - started) / 1000);
      throw gone.signal.aborted ? clientGone() : err;
    } finally {
      reply.raw.off('close', onClose);
      await recording?.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

/** nginx's status for a client that closed the connection before the answer (counted apart from successes). */
const CLIENT_CLOSED_REQUEST = 499;
