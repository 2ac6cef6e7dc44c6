import type { Logger } from '@echopanel/core';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
const LABELS: Record<(typeof LEVELS)[number], string> = { trace: 'trace', debug: 'debug', info: 'info', warn: 'warning', error: 'error', fatal: 'error' };

interface Held {
  readonly line: string;
  readonly err?: string;
}

let shared: { logger: Logger; held: Held[]; emit: (line: string) => void } | undefined;

/**
 * The CLI's logger (one for the process): one readable line per record on stderr, `echopanel: warning: …`
 * (stdout carries the command's output), from `ECHOPANEL_LOG_LEVEL` (default warn) up. Error records are held
 * until the command ends ({@link flushCliLog}), because the command's own error is printed once, as its
 * `echopanel: CODE: message` line; a record that only repeats it is dropped, every other one is printed.
 */
export function cliLogger(): Logger {
  if (shared) return shared.logger;
  const configured = LEVELS.indexOf((process.env.ECHOPANEL_LOG_LEVEL ?? 'warn') as (typeof LEVELS)[number]);
  const min = configured < 0 ? LEVELS.indexOf('warn') : configured;
  const printed = new Set<string>();
  const held: Held[] = [];
  const emit = (line: string): void => {
    if (printed.has(line)) return;
    printed.add(line);
    process.stderr.write(line);
  };
  const at =
    (level: (typeof LEVELS)[number]) =>
    (obj: unknown, msg?: string): void => {
      const index = LEVELS.indexOf(level);
      if (index < min) return;
      const fields = typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>) : {};
      const text = typeof obj === 'string' ? obj : (msg ?? '');
      const err = typeof fields.err === 'string' ? fields.err : fields.err instanceof Error ? fields.err.message : undefined;
      const code = typeof fields.code === 'string' ? `${fields.code}: ` : '';
      const line = `echopanel: ${LABELS[level]}: ${text}${err ? `: ${code}${err}` : ''}`.replace(/\s*\n\s*/g, ' ') + '\n';
      if (index >= LEVELS.indexOf('error')) held.push({ line, ...(err ? { err } : {}) });
      else emit(line);
    };
  const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  shared = { logger, held, emit };
  return logger;
}

/** Prints the held error records, except those that repeat `commandError` (the message the CLI prints itself). */
export function flushCliLog(commandError?: string): void {
  if (!shared) return;
  for (const h of shared.held.splice(0)) if (commandError === undefined || h.err !== commandError) shared.emit(h.line);
}
