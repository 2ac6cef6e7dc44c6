import { EchoPanelError, decodeWav, resampleLinear } from '@echopanel/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EngineHost } from '../engine-host.js';
import type { ServerMetrics } from '../metrics.js';
import { toApiError } from '../api-error.js';
import { transcribePcm } from '../file-transcriber.js';
import { RESPONSE_FORMATS, toSrt, toVtt, transcriptText, verboseJson, type ResponseFormat } from '../transcript-format.js';

interface TranscriptionForm {
  file?: Buffer;
  filename?: string;
  fields: Record<string, string[]>;
}

/** `POST /v1/audio/transcriptions`, as OpenAI's API (multipart; WAV audio). */
export function transcriptionRoute(app: FastifyInstance, engine: EngineHost, metrics: ServerMetrics, resampleOtherRates: boolean): void {
  app.post('/v1/audio/transcriptions', async (req, reply) => {
    const started = performance.now();
    let format: ResponseFormat = 'json';
    try {
      const form = await readForm(req);
      format = responseFormat(form.fields.response_format?.[0]);
      if (!form.file) throw new EchoPanelError('INVALID_REQUEST', 'multipart field "file" is missing: send the audio as a WAV file in "file"');
      const granularities = [...(form.fields['timestamp_granularities[]'] ?? []), ...(form.fields.timestamp_granularities ?? [])];
      for (const g of granularities) {
        if (g !== 'word' && g !== 'segment') throw new EchoPanelError('INVALID_REQUEST', `timestamp_granularities: "${g}" is not one of word, segment`);
      }
      if (granularities.length > 0 && format !== 'verbose_json') {
        throw new EchoPanelError('INVALID_REQUEST', 'timestamp_granularities requires response_format "verbose_json"');
      }
      const audio = decodeWav(form.file);
      let pcm = audio.samples;
      if (audio.sampleRate !== 16000) {
        if (!resampleOtherRates) {
          throw new EchoPanelError('UNSUPPORTED_SAMPLE_RATE', `the WAV is ${audio.sampleRate} Hz; this server accepts 16000 Hz only (server.resampleOtherRates is false)`);
        }
        pcm = resampleLinear(pcm, audio.sampleRate, 16000);
      }
      const provider = engine.requireProvider();
      const ac = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableEnded) ac.abort();
      };
      req.raw.once('close', onClose);
      const language = form.fields.language?.[0] || undefined;
      const result = await transcribePcm(pcm, {
        provider,
        detector: engine.createDetector(),
        asr: engine.asrConfig,
        language,
        prompt: form.fields.prompt?.[0] || undefined,
        wordTimestamps: granularities.includes('word'),
        signal: ac.signal,
        onDecode: (ms, s) => metrics.decodeObserved(ms, s),
      }).finally(() => req.raw.off('close', onClose));
      if (result.stats.droppedSamples > 0 && result.segments.length === 0 && result.errors.length > 0) {
        const e = result.errors[result.errors.length - 1];
        throw new EchoPanelError(e.code, `transcription failed: ${e.message}`);
      }
      const duration = pcm.length / 16000;
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
      metrics.transcriptionDone(format, toApiError(err).status, (performance.now() - started) / 1000);
      throw err;
    }
  });
}

async function readForm(req: FastifyRequest): Promise<TranscriptionForm> {
  if (!req.isMultipart()) {
    throw new EchoPanelError('INVALID_REQUEST', 'send multipart/form-data with the audio in a "file" field (as OpenAI clients do)');
  }
  const form: TranscriptionForm = { fields: {} };
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      const buf = await part.toBuffer();
      if (part.fieldname === 'file') {
        form.file = buf;
        form.filename = part.filename;
      }
    } else {
      (form.fields[part.fieldname] ??= []).push(String(part.value));
    }
  }
  return form;
}

function responseFormat(v: string | undefined): ResponseFormat {
  if (v === undefined || v === '') return 'json';
  if ((RESPONSE_FORMATS as readonly string[]).includes(v)) return v as ResponseFormat;
  throw new EchoPanelError('INVALID_REQUEST', `response_format "${v}" is not one of ${RESPONSE_FORMATS.join(', ')}`);
}
