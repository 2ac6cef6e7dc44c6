import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isEchoPanelError, errorMessage } from '@echopanel/core';
import { registerProvidersCommand } from './commands/providers.js';
import { registerTranscribeCommand } from './commands/transcribe.js';
import { registerServeCommand } from './commands/serve.js';
import { registerModelsCommand } from './commands/models.js';
import { registerDoctorCommand } from './commands/doctor.js';
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
  registerProvidersCommand(program);
  registerTranscribeCommand(program);
  registerServeCommand(program);
  registerModelsCommand(program);
  registerDoctorCommand(program, { loadRuntime: (opts) => loadRuntime(opts) });
  return program;
}

/** Runs the CLI; returns the exit code. Errors print one line: `echopanel: CODE: message`. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const line = isEchoPanelError(err) ? `${err.code}: ${err.message}` : errorMessage(err);
    process.stderr.write(`echopanel: ${line.replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  }
}
