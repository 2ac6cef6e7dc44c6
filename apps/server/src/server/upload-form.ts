import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { EchoPanelError, errorMessage, isEchoPanelError } from '@echopanel/core';
import type { FastifyRequest } from 'fastify';
import type { EngineHost } from './engine-host.js';
import { MAX_PROMPT_CHARS, requestLanguage, textField } from './request-fields.js';
import { RESPONSE_FORMATS, type ResponseFormat } from './transcript-format.js';

/** A multipart upload as OpenAI's `/v1/audio/transcriptions` takes it (also `POST /v1/jobs`). */
export interface UploadForm {
  /** The uploaded file, spooled to disk (never held in memory). */
  file?: string;
  filename?: string;
  fields: Record<string, string[]>;
}

/** The transcription options of an upload form, validated. */
export interface TranscriptionFields {
  readonly format: ResponseFormat;
  readonly granularities: readonly ('word' | 'segment')[];
  readonly language?: string;
  readonly prompt?: string;
}

/**
 * Reads the multipart form, streaming the file part to `dir/upload` (bounded by `maxUploadBytes`, not by memory). A
 * body that is not well-formed multipart is INVALID_REQUEST saying what is wrong.
 */
export async function readUploadForm(req: FastifyRequest, dir: string, signal: AbortSignal): Promise<UploadForm> {
  if (!req.isMultipart()) {
    throw new EchoPanelError('INVALID_REQUEST', 'send multipart/form-data with the audio in a "file" field (as OpenAI clients do)');
  }
  const form: UploadForm = { fields: {} };
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
    const code = (err as { code?: unknown }).code;
    if (isEchoPanelError(err) || (typeof code === 'string' && code.startsWith('FST_'))) throw err;
    throw new EchoPanelError(
      'INVALID_REQUEST',
      `the multipart body could not be read (${errorMessage(err)}): send multipart/form-data with a boundary and the whole file in "file"`,
      { cause: err },
    );
  }
  return form;
}

/** `response_format`, `timestamp_granularities[]`, `language` and `prompt` of a form, each checked (INVALID_REQUEST / UNSUPPORTED_LANGUAGE). */
export function transcriptionFields(fields: Record<string, string[]>, engine: EngineHost): TranscriptionFields {
  const format = responseFormat(fields.response_format?.[0]);
  const granularities = [...(fields['timestamp_granularities[]'] ?? []), ...(fields.timestamp_granularities ?? [])];
  for (const g of granularities) {
    if (g !== 'word' && g !== 'segment') throw new EchoPanelError('INVALID_REQUEST', `timestamp_granularities: "${g}" is not one of word, segment`);
  }
  if (granularities.length > 0 && format !== 'verbose_json') {
    throw new EchoPanelError('INVALID_REQUEST', 'timestamp_granularities requires response_format "verbose_json"');
  }
  return {
    format,
    granularities: granularities as ('word' | 'segment')[],
    language: requestLanguage(fields.language?.[0], engine),
    prompt: textField('prompt', fields.prompt?.[0], MAX_PROMPT_CHARS),
  };
}

/** A `response_format` value (query or form field): `json` when absent, INVALID_REQUEST when unknown. */
export function responseFormat(v: string | undefined): ResponseFormat {
  if (v === undefined || v === '') return 'json';
  if ((RESPONSE_FORMATS as readonly string[]).includes(v)) return v as ResponseFormat;
  throw new EchoPanelError('INVALID_REQUEST', `response_format "${v}" is not one of ${RESPONSE_FORMATS.join(', ')}`, { details: { param: 'response_format' } });
}

export function clientGone(): EchoPanelError {
  return new EchoPanelError('CLIENT_CLOSED_REQUEST', 'the client closed the connection; the transcription was cancelled');
}
