import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { EchoPanelError, decodeAudioFile, errorMessage, isEchoPanelError, probeAudioFile, type DecodedRecording } from '@echopanel/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EngineHost } from '../engine-host.js';
import type { ServerMetrics } from '../metrics.js';
import { toApiError } from '../api-error.js';
import { MAX_PROMPT_CHARS, requestLanguage, textField } from '../request-fields.js';
import { transcribeFile } from '../file-transcriber.js';
import { RESPONSE_FORMATS, toSrt, toVtt, transcriptText, verboseJson, type ResponseFormat } from '../transcript-format.js';

interface TranscriptionForm {
  /** The uploaded file, spooled to disk (never held in memory). */
  file?: string;
  filename?: string;
  fields: Record<string, string[]>;
}

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
      const form = await readForm(req, dir, gone.signal);
      format = responseFormat(form.fields.response_format?.[0]);
      if (!form.file) throw new EchoPanelError('INVALID_REQUEST', 'multipart field "file" is missing: send the audio file in "file"');
      const granularities = [...(form.fields['timestamp_granularities[]'] ?? []), ...(form.fields.timestamp_granularities ?? [])];
      for (const g of granularities) {
        if (g !== 'word' && g !== 'segment') throw new EchoPanelError('INVALID_REQUEST', `timestamp_granularities: "${g}" is not one of word, segment`);
      }
      if (granularities.length > 0 && format !== 'verbose_json') {
        throw new EchoPanelError('INVALID_REQUEST', 'timestamp_granularities requires response_format "verbose_json"');
      }
      const language = requestLanguage(form.fields.language?.[0], engine);
      const prompt = textField('prompt', form.fields.prompt?.[0], MAX_PROMPT_CHARS);
      const source = await probeAudioFile(form.file, { signal: gone.signal });
      if (source.sampleRate !== 16000 && !options.resampleOtherRates) {
        throw new EchoPanelError('UNSUPPORTED_SAMPLE_RATE', `the audio is ${source.sampleRate} Hz; this server accepts 16000 Hz only (server.resampleOtherRates is false)`);
      }
      recording = await decodeAudioFile(form.file, { source, maxSeconds: options.maxUploadSeconds, signal: gone.signal, tmpDir: dir });
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
      if (result.stats.droppedSamples > 0 && result.segments.length === 0 && result.errors.length > 0) {
        const e = result.errors[result.errors.length - 1];
        throw new EchoPanelError(e.code, `transcription failed: ${e.message}`);
      }
      const duration = recording.length / 16000;
      reply.header('x-echopanel-dropped-samples', String(result.stats.droppedSamples));
      metrics.transcriptionDone(format, 200, (performance.now() - started) / 1000);
      const lang = language ?? engine.asrConfig.language;
      switch (format) {
        case 'text':
          return reply.type('text/plain; charset=utf-8').send(transcriptText(result.segments) + '\n');
        case 'srt':
          return reply.type('text/plain; charset=utf-8').send(toSrt(result.segments));
        case 'vtt':
          return reply.type('text/vtt; charset=utf-8').send(toVtt(result.segments));
        case 'verbose_json':
          return reply.send(verboseJson({ segments: result.segments, language: lang, duration }, granularities));
        default:
          return reply.send({ text: transcriptText(result.segments) });
      }
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

function clientGone(): EchoPanelError {
  return new EchoPanelError('CLIENT_CLOSED_REQUEST', 'the client closed the connection; the transcription was cancelled');
}

/**
 * Reads the multipart form, streaming the file part to `dir` (bounded by `maxUploadBytes`, not by memory). A
 * body that is not well-formed multipart is INVALID_REQUEST saying what is wrong.
 */
async function readForm(req: FastifyRequest, dir: string, signal: AbortSignal): Promise<TranscriptionForm> {
  if (!req.isMultipart()) {
    throw new EchoPanelError('INVALID_REQUEST', 'send multipart/form-data with the audio in a "file" field (as OpenAI clients do)');
  }
  const form: TranscriptionForm = { fields: {} };
  try {
    for await (const part of req.parts()) {
      if (part.type !== 'file') {
        (form.fields[part.fieldname] ??= []).push(String(part.value));
      } else if (part.fieldname !== 'file' || form.file) {
        part.file.resume();
      } else {
        const file = path.join(dir, 'upload');
        await pipeline(part.file, createWriteStream(file));
        if (part.file.truncated) throw new EchoPanelError('PAYLOAD_TOO_LARGE', 'the file exceeds server.limits.maxUploadBytes');
        form.file = file;
        form.filename = part.filename;
      }
    }
  } catch (err) {
    if (signal.aborted) throw clientGone();
    if (isEchoPanelError(err) || String((err as { code?: unknown }).code ?? '').startsWith('FST_')) throw err;
    throw new EchoPanelError(
      'INVALID_REQUEST',
      `the multipart body could not be read (${errorMessage(err)}): send multipart/form-data with a boundary and the whole file in "file"`,
      { cause: err },
    );
  }
  return form;
}


function responseFormat(v: string | undefined): ResponseFormat {
  if (v === undefined || v === '') return 'json';
  if ((RESPONSE_FORMATS as readonly string[]).includes(v)) return v as ResponseFormat;
  throw new EchoPanelError('INVALID_REQUEST', `response_format "${v}" is not one of ${RESPONSE_FORMATS.join(', ')}`);
}
