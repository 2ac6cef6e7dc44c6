import { createLogger, createRuntime, type EchoPanelRuntime, type Logger } from '@echopanel/core';

export interface RuntimeFlags {
  readonly config?: string;
  /** Environment for config overrides (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** CLI logger: warnings and errors to stderr (stdout carries the command's output). */
export function cliLogger(): Logger {
  return createLogger({ level: process.env.ECHOPANEL_LOG_LEVEL ?? 'warn', toStderr: true });
}

/** Loads the runtime for a CLI command and reports plugins that failed to load, one line each. */
export async function loadRuntime(flags: RuntimeFlags, logger: Logger = cliLogger()): Promise<EchoPanelRuntime> {
  const runtime = await createRuntime({ configFile: flags.config, env: flags.env, logger });
  for (const line of runtime.failureReport()) process.stderr.write(`echopanel: plugin ${line}\n`);
  return runtime;
}
