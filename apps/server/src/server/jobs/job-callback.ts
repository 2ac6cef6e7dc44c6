import { createHmac } from 'node:crypto';
import { EchoPanelError, errorMessage, type Logger } from '@echopanel/core';

/** Header carrying `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with server.apiKey>`. */
export const SIGNATURE_HEADER = 'x-echopanel-signature';
/** Header carrying the signing time (epoch seconds), part of the signed text so a captured callback cannot be replayed later unnoticed. */
export const TIMESTAMP_HEADER = 'x-echopanel-timestamp';

/** The signature a receiver recomputes to check a callback came from this server. */
export function signCallback(apiKey: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', apiKey).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** `callback_url` as given: an absolute http(s) URL, else INVALID_REQUEST. */
export function callbackUrl(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new EchoPanelError('INVALID_REQUEST', `callback_url "${value}" is not a URL`, { details: { param: 'callback_url' } });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EchoPanelError('INVALID_REQUEST', `callback_url must be http:// or https:// (got ${url.protocol})`, { details: { param: 'callback_url' } });
  }
  return url.href;
}

export interface CallbackOptions {
  /** Signs the body when set (`server.apiKey`). */
  readonly apiKey?: string;
  readonly attempts: number;
  /** First retry delay; doubles each time. */
  readonly backoffMs: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

/** POSTs `payload` as JSON to `url` until a 2xx answer, retrying with exponential backoff; resolves false when every try failed. */
export async function deliverCallback(url: string, payload: unknown, options: CallbackOptions): Promise<boolean> {
  const body = JSON.stringify(payload);
  for (let attempt = 1; attempt <= options.attempts && !options.signal?.aborted; attempt++) {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = { 'content-type': 'application/json', [TIMESTAMP_HEADER]: timestamp };
    if (options.apiKey) headers[SIGNATURE_HEADER] = signCallback(options.apiKey, timestamp, body);
    let why: string;
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
      await res.body?.cancel();
      if (res.ok) return true;
      why = `HTTP ${res.status}`;
    } catch (err) {
      why = errorMessage(err);
    }
    options.logger.warn({ url, attempt, attempts: options.attempts, why }, 'job callback not delivered');
    if (attempt < options.attempts) await new Promise((r) => setTimeout(r, options.backoffMs * 2 ** (attempt - 1)));
  }
  return false;
}
