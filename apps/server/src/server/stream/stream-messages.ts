import { z } from 'zod';
import { MAX_LANGUAGE_CHARS, MAX_PROMPT_CHARS } from '../request-fields.js';

/** `{"type":"start", …}`: every field optional. */
export const startMessageSchema = z
  .object({
    type: z.literal('start'),
    sample_rate: z.number().int().min(1000).max(384000).default(16000),
    encoding: z.string().default('pcm_s16le'),
    source: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, 'source must be 1-32 letters, digits, _ . -').default('mic'),
    /** Checked against the loaded model by requestLanguage(). */
    language: z.string().max(MAX_LANGUAGE_CHARS).optional(),
    /** Join (or name) a session shared by several sources (e.g. mic + system). */
    session: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'session must be 1-64 letters, digits, _ -').optional(),
    prompt: z.string().max(MAX_PROMPT_CHARS).optional(),
  })
  .strict();

export type StartMessage = z.output<typeof startMessageSchema>;

export const stopMessageSchema = z.object({ type: z.literal('stop') }).strict();

export type ClientMessage = { kind: 'start'; start: StartMessage } | { kind: 'stop' };

/** A protocol problem the client can fix, with the code sent in the `error` message. */
export class ProtocolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parses one text frame of the stream protocol; throws {@link ProtocolError}. */
export function parseClientMessage(text: string): ClientMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ProtocolError('INVALID_JSON', `text frames must be JSON messages; could not parse ${JSON.stringify(text.slice(0, 40))}`);
  }
  const type = (raw as { type?: unknown } | null)?.type;
  if (type === 'start') {
    const r = startMessageSchema.safeParse(raw);
    if (!r.success) throw new ProtocolError('INVALID_MESSAGE', `invalid start message: ${formatIssues(r.error)}`);
    return { kind: 'start', start: r.data };
  }
  if (type === 'stop') {
    const r = stopMessageSchema.safeParse(raw);
    if (!r.success) throw new ProtocolError('INVALID_MESSAGE', `invalid stop message: ${formatIssues(r.error)}`);
    return { kind: 'stop' };
  }
  throw new ProtocolError('UNKNOWN_MESSAGE_TYPE', `unknown message type ${JSON.stringify(type)}; expected "start" or "stop"`);
}

export function defaultStart(): StartMessage {
  return startMessageSchema.parse({ type: 'start' });
}

function formatIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ');
}
