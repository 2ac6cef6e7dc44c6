import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The `echopanel` bin as npm links it (the committed launcher, which starts the built CLI). */
export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/echopanel.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in `cwd` as a user would; resolves with exit code and output (never rejects on a non-zero exit). */
export async function runCli(cwd: string, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ECHOPANEL_LOG_LEVEL: 'warn', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The lines the CLI prints as its errors and warnings (`echopanel: …`). */
export function cliLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('echopanel: '));
}

/** An empty directory outside the repository, with `files` written into it. */
export function projectDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'echopanel-project-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

export interface ServeProcess {
  readonly url: string;
  readonly pid: number;
  /** Everything written to stdout so far (the server's JSON log lines). */
  stdout(): string;
  /** SIGTERM; resolves with the exit code and everything written to stderr. */
  stop(): Promise<{ code: number | null; stderr: string }>;
  /** Sends `signal`; resolves like {@link stop} once the process exited. */
  signal(signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }>;
}

/** Starts `echopanel serve` on a free port; resolves once it printed its URL. */
export function startServe(cwd: string, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd,
    env: { ...process.env, ECHOPANEL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) {
        const signal = async (sig: NodeJS.Signals) => {
          child.kill(sig);
          return { code: await exited, stderr };
        };
        resolve({ url: m[1], pid: child.pid!, stdout: () => stdout, stop: () => signal('SIGTERM'), signal });
      }
    });
    void exited.then((code) => reject(new Error(`echopanel serve exited (${code}) before listening: ${stderr}`)));
  });
}

/** Polls `url` until `done` holds for its answer (or the deadline passes); resolves with the last answer. */
export async function poll(
  url: string,
  done: (r: { status: number; body: Record<string, unknown> | null }) => boolean,
  timeoutMs: number,
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(url).catch(() => undefined);
    const body = res ? ((await res.json().catch(() => null)) as Record<string, unknown> | null) : null;
    const answer = { status: res?.status ?? 0, body };
    if (done(answer) || Date.now() > deadline) return answer;
    await new Promise((r) => setTimeout(r, 200));
  }
}
