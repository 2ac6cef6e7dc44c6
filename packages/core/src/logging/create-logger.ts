import { pino } from 'pino';
import type { Logger } from '@echopanel/plugin-api';

export interface LoggerOptions {
  readonly level?: string;
  readonly name?: string;
  /** Write to stderr (CLI) instead of stdout (server). */
  readonly toStderr?: boolean;
}

/** A pino logger; level from `ECHOPANEL_LOG_LEVEL` unless given. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.ECHOPANEL_LOG_LEVEL ?? 'info';
  return pino({ level, name: options.name ?? 'echopanel' }, pino.destination(options.toStderr ? 2 : 1));
}
