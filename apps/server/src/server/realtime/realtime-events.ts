import type { z } from 'zod';
import { betaSessionSchema, gaSessionSchema } from './realtime-session-config.js';

/** Largest audio one `input_audio_buffer.append` may carry (OpenAI's limit), decoded. */
export const MAX_APPEND_BYTES = 15 * 1024 * 1024;

/**
 * WebSocket message size the server takes: an append a little over the limit must still arrive whole, to be
 * answered with an `error` event instead of a closed connection.
 */
export const REALTIME_MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/** What an `error` event's `error` object says (OpenAI's shape). */
export interface RealtimeErrorBody {
  readonly type: 'invalid_request_error' | 'server_error';
  readonly code: string;
  readonly message: string;
  readonly param: string | null;
  /** The client event that caused it, when it had an `event_id`. */
  readonly event_id: string | null;
}

/** A client mistake answered with an `error` event; the connection goes on. */
export class RealtimeRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly eventId: string | null = null,
  ) {
    super(message);
  }

  body(): RealtimeErrorBody {
    return { type: 'invalid_request_error', code: this.code, message: this.message, param: this.param, event_id: this.eventId };
  }
}

export type RealtimeClientEvent =
  | { readonly type: 'session.update'; readonly event_id?: string; readonly session: z.output<typeof gaSessionSchema> }
  | { readonly type: 'transcription_session.update'; readonly event_id?: string; readonly session: z.output<typeof betaSessionSchema> }
  | { readonly type: 'input_audio_buffer.append'; readonly event_id?: string; readonly audio: Uint8Array }
  | { readonly type: 'input_audio_buffer.commit'; readonly event_id?: string }
  | { readonly type: 'input_audio_buffer.clear'; readonly event_id?: string };

const CLIENT_EVENTS = ['session.update', 'transcription_session.update', 'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear'] as const;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Parses one text frame; throws {@link RealtimeRequestError} with OpenAI's codes. */
export function parseClientEvent(text: string): RealtimeClientEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RealtimeRequestError('invalid_json', `events must be JSON objects; could not parse ${JSON.stringify(text.slice(0, 40))}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RealtimeRequestError('invalid_json', 'an event must be a JSON object with a "type"');
  const event = raw as Record<string, unknown>;
  const eventId = typeof event.event_id === 'string' ? event.event_id.slice(0, 200) : null;
  const type = event.type;
  const base = eventId ? { event_id: eventId } : {};
  switch (type) {
    case 'session.update':
    case 'transcription_session.update': {
      const schema = type === 'session.update' ? gaSessionSchema : betaSessionSchema;
      const r = schema.safeParse(event.session ?? {});
      if (!r.success) {
        const issue = r.error.issues[0];
        const param = ['session', ...issue.path.map(String)].join('.');
        const why = issue.code === 'unrecognized_keys' ? `unknown parameter${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${param}.${k}'`).join(', ')}` : `'${param}': ${issue.message}`;
        throw new RealtimeRequestError(issue.code === 'unrecognized_keys' ? 'unknown_parameter' : 'invalid_value', `Invalid session: ${why}`, param, eventId);
      }
      return { type, ...base, session: r.data } as RealtimeClientEvent;
    }
    case 'input_audio_buffer.append': {
      const audio = event.audio;
      if (typeof audio !== 'string') throw new RealtimeRequestError('missing_required_parameter', "Missing required parameter: 'audio' (base64-encoded audio bytes).", 'audio', eventId);
      if (audio.length > Math.ceil(MAX_APPEND_BYTES / 3) * 4) {
        throw new RealtimeRequestError(
          'audio_too_large',
          `Invalid 'audio': an append carries at most ${MAX_APPEND_BYTES / 1024 / 1024} MiB of audio, this one ${(Math.floor((audio.length * 3) / 4) / 1024 / 1024).toFixed(1)} MiB; send audio in smaller appends`,
          'audio',
          eventId,
        );
      }
      if (audio.length % 4 !== 0 || !BASE64.test(audio)) {
        throw new RealtimeRequestError('invalid_value', "Invalid 'audio': expected base64-encoded audio bytes.", 'audio', eventId);
      }
      const bytes = Buffer.from(audio, 'base64');
      return { type, ...base, audio: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    }
    case 'input_audio_buffer.commit':
    case 'input_audio_buffer.clear':
      return { type, ...base };
    default:
      throw new RealtimeRequestError(
        'invalid_value',
        `Invalid value: ${JSON.stringify(typeof type === 'string' ? type.slice(0, 80) : type ?? null)}. Supported event types on a transcription session are: ${CLIENT_EVENTS.map((t) => `'${t}'`).join(', ')}.`,
        'type',
        eventId,
      );
  }
}
