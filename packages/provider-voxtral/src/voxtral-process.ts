import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { EchoPanelError, silentLogger, type Logger } from '@echopanel/plugin-api';

/** How a voxtral.c process ended. */
export interface VoxtralExit {
  readonly exitCode?: number;
  readonly signal?: string;
  /** Set when the executable could not be started at all (ENOENT, EACCES…). */
  readonly spawnError?: string;
  /** The last stderr lines (errors are printed there even with --silent). */
  readonly stderrTail: readonly string[];
}

/** Numbers voxtral.c prints on stderr when VOX_PRINT_TIMINGS is set (or at default verbosity). */
export interface VoxtralTimings {
  loadMs?: number;
  encoderMs?: number;
  decoderMs?: number;
  textTokens?: number;
  wallMs?: number;
}

export interface VoxtralProcessOptions {
  readonly binary: string;
  readonly args: readonly string[];
  /** The complete environment of the process. */
  readonly env: Readonly<Record<string, string>>;
  readonly readyTimeoutMs: number;
  readonly logger?: Logger;
}

function spawnVoxtral(options: VoxtralProcessOptions) {
  return execa(options.binary, [...options.args], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    env: { ...options.env },
    // The caller passes the whole environment (the host's, plus config.env).
    extendEnv: false,
    cleanup: true,
    forceKillAfterDelay: false,
  });
}

const STDERR_TAIL_LINES = 20;
/** Lines voxtral.c prints once the weights are loaded: `Model loaded.` (verbosity ≥ 1), `Model load: N ms` (VOX_PRINT_TIMINGS). */
const READY_LINE = /^(Model loaded\.|Model load: \d+ ms)$/;
const ENCODER_LINE = /^Encoder: \d+ mel -> \d+ tokens \((\d+) ms\)$/;
const DECODER_LINE = /^Decoder: (\d+) text tokens \(\d+ steps\) in (\d+) ms/;
const WALL_LINE = /^Wall transcribe: (\d+) ms$/;
const LOAD_LINE = /^Model load: (\d+) ms$/;

/** "exited with code 1" / "was killed by SIGSEGV" / "could not be started (…)". */
export function describeExit(exit: VoxtralExit): string {
  if (exit.spawnError) return `could not be started (${exit.spawnError})`;
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.exitCode ?? 'unknown'}`;
}

function stderrSuffix(exit: VoxtralExit): string {
  return exit.stderrTail.length > 0 ? `; stderr: ${exit.stderrTail.slice(-5).join(' | ')}` : '';
}

/**
 * One voxtral.c process in `--stdin` mode. It loads the model, then reads raw s16le from stdin until EOF while
 * writing text to stdout; this class turns that into: a `ready` promise (readiness line on stderr or first stdout
 * byte, with a timeout), UTF-8-safe text callbacks (a streaming TextDecoder, so a character split across pipe
 * reads is never mangled), back-pressured writes, and an `exited` promise that settles after stdout is drained.
 */
export class VoxtralProcess {
  readonly pid: number | undefined;
  readonly ready: Promise<void>;
  readonly exited: Promise<VoxtralExit>;
  readonly timings: VoxtralTimings = {};
  readonly spawnedAt = performance.now();
  /** performance.now() of the last sign of life (stdout text, stdin accepted); used for hang detection. */
  lastActivity = performance.now();
  readyAt: number | undefined;
  private exitInfo: VoxtralExit | undefined;
  private readonly child: ReturnType<typeof spawnVoxtral>;
  private readonly decoder = new TextDecoder('utf-8');
  private readonly stderrTail: string[] = [];
  private stderrRest = '';
  private textListener: ((text: string) => void) | undefined;
  private unclaimedText = '';
  private readonly logger: Logger;
  private markReady!: () => void;
  private failReady!: (err: EchoPanelError) => void;
  private readyTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: VoxtralProcessOptions) {
    this.logger = options.logger ?? silentLogger;
    this.ready = new Promise<void>((resolve, reject) => {
      this.markReady = resolve;
      this.failReady = reject;
    });
    // Callers that never await `ready` (a warm spare that is stopped) must not cause an unhandled rejection.
    this.ready.catch(() => undefined);
    const child = spawnVoxtral(options);
    this.child = child;
    this.pid = this.child.pid;
    const { stdin, stdout, stderr } = this.child;
    // A write to a process that just died fails with EPIPE; that surfaces through write() and `exited`.
    stdin.on('error', (err) => this.logger.debug({ err: err.message, pid: this.pid }, 'voxtral stdin error'));
    stdout.on('data', (chunk: Buffer) => this.onStdout(chunk));
    stderr.on('data', (chunk: Buffer) => this.onStderr(chunk));
    const stdoutDone = new Promise<void>((resolve) => {
      stdout.once('close', resolve);
      stdout.once('error', () => resolve());
    });
    this.exited = (async () => {
      const result = await child;
      await stdoutDone;
      this.flushStderr();
      const tail = [...this.stderrTail];
      const code = (result as { code?: string }).code;
      const exit: VoxtralExit =
        result.exitCode === undefined && !result.signal && code
          ? { spawnError: `${code}: ${result.originalMessage ?? result.shortMessage}`, stderrTail: tail }
          : { exitCode: result.exitCode, signal: result.signal, stderrTail: tail };
      // The decoder may hold the first bytes of a character that never completed: flush them (as U+FFFD).
      const rest = this.decoder.decode();
      if (rest) this.emitText(rest);
      this.exitInfo = exit;
      clearTimeout(this.readyTimer);
      if (this.readyAt === undefined) this.failReady(this.startError(exit));
      return exit;
    })();
    this.readyTimer = setTimeout(() => {
      if (this.readyAt !== undefined || this.exitInfo) return;
      this.failReady(
        new EchoPanelError(
          'INIT_TIMEOUT',
          `voxtral.c did not finish loading the model within ${options.readyTimeoutMs} ms (no "Model loaded." on stderr); ` +
            'raise providers.voxtral.readyTimeoutMs if the weights load slowly from disk',
          { details: { pid: this.pid, stderr: [...this.stderrTail] } },
        ),
      );
      this.kill('SIGKILL');
    }, options.readyTimeoutMs);
    this.readyTimer.unref?.();
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  get isReady(): boolean {
    return this.readyAt !== undefined && !this.exitInfo;
  }

  get exit(): VoxtralExit | undefined {
    return this.exitInfo;
  }

  /** Receives decoded transcript text; text that arrived before a listener was set is delivered at once. */
  setTextListener(listener: ((text: string) => void) | undefined): void {
    this.textListener = listener;
    if (listener && this.unclaimedText) {
      const text = this.unclaimedText;
      this.unclaimedText = '';
      listener(text);
    }
  }

  /**
   * Writes bytes to stdin; resolves once the OS accepted them (so the caller waits while the pipe is full — the
   * child's read rate is the back-pressure). Rejects with WORKER_CRASHED when the process is gone.
   */
  write(bytes: Uint8Array): Promise<void> {
    const stdin = this.child.stdin;
    if (this.exitInfo || stdin.destroyed || stdin.writableEnded) {
      return Promise.reject(this.crashError('stdin is closed'));
    }
    return new Promise<void>((resolve, reject) => {
      stdin.write(bytes, (err) => {
        if (err) reject(this.crashError(err.message));
        else {
          this.lastActivity = performance.now();
          resolve();
        }
      });
    });
  }

  /** Closes stdin: voxtral.c finishes the audio it has, prints the rest of the text and `\n`, and exits 0. */
  end(): void {
    if (!this.child.stdin.writableEnded) this.child.stdin.end();
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.exitInfo) this.child.kill(signal);
  }

  /**
   * Graceful stop: a loaded process gets EOF on stdin and `graceMs` to exit; one still loading (or past the grace)
   * is killed.
   */
  async stop(graceMs: number): Promise<VoxtralExit> {
    if (this.exitInfo) return this.exitInfo;
    if (this.readyAt === undefined) this.kill('SIGKILL');
    else this.end();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const first = await Promise.race([this.exited, grace]);
    clearTimeout(timer);
    if (first === 'timeout') {
      this.logger.warn({ pid: this.pid, graceMs }, 'voxtral.c did not exit after stdin was closed; killing it');
      this.kill('SIGKILL');
    }
    return this.exited;
  }

  /** Resident memory of the process (Linux /proc), 0 when unknown. */
  rssBytes(): number {
    if (!this.pid || this.exitInfo) return 0;
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      return m ? Number(m[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }

  /** The error for a process that died while in use. */
  crashError(what: string): EchoPanelError {
    const exit = this.exitInfo;
    const how = exit ? describeExit(exit) : what;
    return new EchoPanelError('WORKER_CRASHED', `voxtral.c (pid ${this.pid ?? '?'}) ${how}${exit ? stderrSuffix(exit) : ''}`, {
      details: { pid: this.pid, exitCode: exit?.exitCode, signal: exit?.signal, stderr: exit ? [...exit.stderrTail] : [] },
    });
  }

  private startError(exit: VoxtralExit): EchoPanelError {
    const details = { pid: this.pid, exitCode: exit.exitCode, signal: exit.signal, stderr: [...exit.stderrTail] };
    if (exit.spawnError) {
      return new EchoPanelError('WORKER_START_FAILED', `cannot start ${this.options.binary}: ${exit.spawnError}`, { details });
    }
    const text = exit.stderrTail.join('\n');
    if (/Failed to load model from|Failed to init stream/.test(text)) {
      return new EchoPanelError(
        'MODEL_CORRUPT',
        `voxtral.c could not load the model (${describeExit(exit)})${stderrSuffix(exit)}; re-run download_model.sh`,
        { details },
      );
    }
    return new EchoPanelError('WORKER_START_FAILED', `voxtral.c ${describeExit(exit)} before the model was loaded${stderrSuffix(exit)}`, {
      details,
    });
  }

  private setReady(): void {
    if (this.readyAt !== undefined || this.exitInfo) return;
    this.readyAt = performance.now();
    clearTimeout(this.readyTimer);
    this.markReady();
  }

  private onStdout(chunk: Buffer): void {
    this.lastActivity = performance.now();
    this.setReady();
    const text = this.decoder.decode(chunk, { stream: true });
    if (text) this.emitText(text);
  }

  private emitText(text: string): void {
    if (this.textListener) this.textListener(text);
    else this.unclaimedText += text;
  }

  private onStderr(chunk: Buffer): void {
    this.stderrRest += chunk.toString('utf8');
    let nl: number;
    while ((nl = this.stderrRest.indexOf('\n')) >= 0) {
      this.onStderrLine(this.stderrRest.slice(0, nl).replace(/\r$/, ''));
      this.stderrRest = this.stderrRest.slice(nl + 1);
    }
  }

  private flushStderr(): void {
    if (this.stderrRest) this.onStderrLine(this.stderrRest);
    this.stderrRest = '';
  }

  private onStderrLine(line: string): void {
    if (!line) return;
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    this.logger.debug({ pid: this.pid, line }, 'voxtral.c stderr');
    let m: RegExpExecArray | null;
    if ((m = LOAD_LINE.exec(line))) this.timings.loadMs = Number(m[1]);
    else if ((m = ENCODER_LINE.exec(line))) this.timings.encoderMs = Number(m[1]);
    else if ((m = DECODER_LINE.exec(line))) {
      this.timings.textTokens = Number(m[1]);
      this.timings.decoderMs = Number(m[2]);
    } else if ((m = WALL_LINE.exec(line))) this.timings.wallMs = Number(m[1]);
    if (READY_LINE.test(line)) this.setReady();
  }
}
