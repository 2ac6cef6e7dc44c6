import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, type EchoPanelRuntime, type Logger, type RuntimeOptions } from '@echopanel/core';
import { cliLogger } from './cli-logger.js';

export interface RuntimeFlags {
  readonly config?: string;
  /** Environment for config overrides (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** `all` to list every import-map entry; `in-use` (default) for commands that serve or transcribe. */
  readonly plugins?: RuntimeOptions['plugins'];
  /** A command that transcribes once and exits. */
  readonly oneShot?: boolean;
}

/** This package's directory: the first-party plugins are its dependencies, so they resolve from here. */
export const SERVER_PACKAGE_DIR = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

/**
 * Loads the runtime for a CLI command: plugins resolve from the config's directory, then from this installed
 * EchoPanel. Plugins that failed to load are warnings, one line each; a command that needs one of them fails
 * with that plugin's error when it uses it.
 */
export async function loadRuntime(flags: RuntimeFlags, logger: Logger = cliLogger()): Promise<EchoPanelRuntime> {
  const runtime = await createRuntime({
    configFile: flags.config,
    env: flags.env,
    logger,
    plugins: flags.plugins ?? 'in-use',
    hostDirs: [SERVER_PACKAGE_DIR],
    ...(flags.oneShot ? { oneShot: true } : {}),
  });
  for (const line of runtime.failureReport()) process.stderr.write(`echopanel: warning: plugin ${line}\n`);
  return runtime;
}
