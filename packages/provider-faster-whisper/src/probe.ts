import { execa } from 'execa';

/** What `worker.py --probe` reports about a Python environment. */
export interface PythonProbe {
  readonly ok: boolean;
  readonly python?: string;
  readonly executable?: string;
  readonly fasterWhisper?: string;
  readonly ctranslate2?: string;
  readonly cudaDevices?: number;
  /** Why faster_whisper could not be imported. */
  readonly error?: string;
}

export type ProbeOutcome =
  | { readonly kind: 'ok'; readonly info: PythonProbe }
  | { readonly kind: 'no-python'; readonly message: string }
  | { readonly kind: 'not-importable'; readonly message: string };

/** Runs the worker script in probe mode: is there a Python at `pythonPath`, and does it have faster_whisper? */
export async function probePython(
  pythonPath: string,
  scriptPath: string,
  env: Readonly<Record<string, string | undefined>>,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const r = await execa(pythonPath, [scriptPath, '--probe'], {
    reject: false,
    timeout: timeoutMs,
    cleanup: false,
    extendEnv: false,
    env: { ...env },
  });
  if (r.code === 'ENOENT' || r.code === 'EACCES') {
    return { kind: 'no-python', message: `no Python interpreter at ${pythonPath} (${r.code})` };
  }
  if (r.timedOut) return { kind: 'not-importable', message: `${pythonPath} did not answer the faster_whisper probe within ${timeoutMs} ms` };
  const line = String(r.stdout).trim().split('\n').pop() ?? '';
  let info: PythonProbe | undefined;
  try {
    info = JSON.parse(line) as PythonProbe;
  } catch {
    info = undefined;
  }
  if (!info) {
    const detail = String(r.stderr).trim().split('\n').slice(-3).join(' | ') || `exit code ${r.exitCode}`;
    return { kind: 'no-python', message: `${pythonPath} is not a working Python interpreter: ${detail}` };
  }
  if (!info.ok) return { kind: 'not-importable', message: `python module faster_whisper is not importable by ${pythonPath}: ${info.error}` };
  return { kind: 'ok', info };
}
