import { EchoPanelError, asrConfigSchema, formatZodIssues, serverConfigSchema } from '@echopanel/core';
import type { z } from 'zod';

/**
 * Checks a CLI option with the schema of the config key it overrides, so a bad option fails like a bad config:
 * INVALID_CONFIG, `--flag: what is wrong`.
 */
function checked<T>(flag: string, schema: z.ZodType<T>, value: unknown, expected: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new EchoPanelError('INVALID_CONFIG', `${formatZodIssues(r.error, flag)} (expected ${expected})`, { details: { option: flag, value } });
  return r.data;
}

/** `--port`: an integer 0–65535 (0 = any free port), as `server.port`. */
export function portOption(value: string): number {
  const expected = 'a TCP port 0-65535; 0 picks a free one';
  if (!/^\d+$/.test(value.trim())) {
    throw new EchoPanelError('INVALID_CONFIG', `--port: '${value}' is not a port number (expected ${expected})`, { details: { option: '--port', value } });
  }
  return checked('--port', serverConfigSchema.unwrap().shape.port, Number(value), expected);
}

/** `--host`: a bind address, as `server.host`. */
export function hostOption(value: string): string {
  return checked('--host', serverConfigSchema.unwrap().shape.host.unwrap().min(1), value.trim(), 'an address to bind, e.g. 127.0.0.1');
}

/** `--language`: a language code, as `asr.language`. */
export function languageOption(value: string): string {
  return checked('--language', asrConfigSchema.unwrap().shape.language.unwrap(), value.trim(), 'a language code such as en');
}
