import { spawn } from 'node:child_process';

export interface CommandResult {
  /** Exit code (null when killed). */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Killed because it ran past the timeout. */
  readonly timedOut: boolean;
  /** The command could not be started (e.g. ENOENT: not installed). */
  readonly spawnError?: string;
}

/** Runs a command with a time limit; the boundary capability detection talks to (injectable in tests). */
export type CommandRunner = (command: string, args: readonly string[], options: { timeoutMs: number }) => Promise<CommandResult>;

/** Spawns the command (no shell) and SIGKILLs it at the timeout, so a hung driver tool cannot stall startup. */
export const runCommand: CommandRunner = (command, args, { timeoutMs }) =>
  new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const finish = (r: CommandResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length < 1 << 16) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 1 << 16) stderr += d;
    });
    child.on('error', (err: NodeJS.ErrnoException) => finish({ exitCode: null, stdout, stderr, timedOut: false, spawnError: err.code ?? err.message }));
    child.on('close', (code) => finish({ exitCode: code, stdout, stderr, timedOut }));
  });
