import type { Logger } from '@echopanel/plugin-api';

/** One call made to a {@link recordingLogger}. */
export interface LoggedLine {
  readonly level: string;
  readonly msg: string;
  readonly obj: unknown;
}

/** A logger that keeps every call (children share the list), for asserting on what a plugin logs. */
export function recordingLogger(): Logger & { readonly lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const at =
    (level: string) =>
    (obj: unknown, msg?: string): void => {
      lines.push({ level, msg: msg ?? (typeof obj === 'string' ? obj : ''), obj });
    };
  const logger = { lines, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}
