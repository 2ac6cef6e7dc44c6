import { errorMessage, isEchoPanelError } from '@echopanel/core';

/** HTTP status for an error code (anything unknown is a 500). */
const STATUS: Record<string, number> = {
  INVALID_REQUEST: 400,
  INVALID_AUDIO: 400,
  UNSUPPORTED_SAMPLE_RATE: 400,
  UNSUPPORTED_LANGUAGE: 400,
  UNAUTHORIZED: 401,
  HOST_NOT_ALLOWED: 403,
  ORIGIN_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  JOB_NOT_COMPLETED: 409,
  JOB_BUSY: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_AUDIO_FORMAT: 415,
  TOO_MANY_SESSIONS: 429,
  TOO_MANY_REQUESTS: 429,
  CLIENT_CLOSED_REQUEST: 499,
  NOT_READY: 503,
  // The engine died under this request; the model recovers by itself (asr.recovery), so retrying is right.
  WORKER_CRASHED: 503,
  DECODER_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
  JOBS_UNAVAILABLE: 503,
  INIT_TIMEOUT: 503,
  INFERENCE_TIMEOUT: 504,
};

/** OpenAI-style error body (`{error: {message, type, code, param}}`), which the official clients parse. */
export interface ApiErrorBody {
  readonly error: { readonly message: string; readonly type: string; readonly code: string; readonly param: string | null };
}

/** Status and body for anything thrown while handling a request. */
export function toApiError(err: unknown): { status: number; body: ApiErrorBody } {
  const code = isEchoPanelError(err) ? err.code : fastifyCode(err) ?? 'INTERNAL_ERROR';
  const status = STATUS[code] ?? fastifyStatus(err) ?? 500;
  const param = isEchoPanelError(err) && typeof err.details?.param === 'string' ? err.details.param : null;
  return { status, body: apiErrorBody(code, errorMessage(err), status, param) };
}

export function apiErrorBody(code: string, message: string, status: number, param: string | null = null): ApiErrorBody {
  const type = status === 401 ? 'authentication_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message, type, code, param } };
}

function fastifyCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  if (code === 'FST_REQ_FILE_TOO_LARGE' || code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'PAYLOAD_TOO_LARGE';
  if (typeof code === 'string' && code.startsWith('FST_')) return 'INVALID_REQUEST';
  return undefined;
}

function fastifyStatus(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown })?.statusCode;
  return typeof s === 'number' && s >= 400 && s < 600 ? s : undefined;
}
