import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isEchoPanelError, errorMessage } from '@echopanel/core';
import { registerProvidersCommand } from './commands/providers.js';
import { registerTranscribeCommand } from './commands/transcribe.js';
import { registerServeCommand } from './commands/serve.js';
import { registerModelsCommand } from './commands/models.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerPluginCommand } from './commands/plugin.js';
import { flushCliLog } from './cli-logger.js';
import { loadRuntime } from './load-runtime.js';

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** Builds the `echopanel` command tree. */
export function buildProgram(): Command {
  const program = new Command('echopanel').description('EchoPanel: local speech-to-text server').version(version());
  program.exitOverride();
  // Commander's own errors (unknown option, missing argument) in the CLI's one-line format, inherited by every
  // subcommand registered below.
  program.configureOutput({
    outputError: (text, write) => write(`echopanel: INVALID_CONFIG: ${text.replace(/^error:\s*/, '').replace(/\s*\n\s*/g, ' ').trim()}\n`),
  });
  registerProvidersCommand(program);
  registerTranscribeCommand(program);
  registerServeCommand(program);
  registerModelsCommand(program);
  registerDoctorCommand(program, { loadRuntime: (opts) => loadRuntime({ ...opts, plugins: 'all' }) });
  registerPluginCommand(program);
  return program;
}

/** Runs the CLI; returns the exit code. Errors print one line: `echopanel: CODE: message`. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    flushCliLog();
    return 0;
  } catch (err) {
    flushCliLog(isEchoPanelError(err) ? err.message : undefined);
    if (err instanceof CommanderError) return err.exitCode;
    const line = isEchoPanelError(err) ? `${err.code}: ${err.message}` : `INTERNAL_ERROR: ${errorMessage(err)}`;
    process.stderr.write(`echopanel: ${line.replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  }
}
