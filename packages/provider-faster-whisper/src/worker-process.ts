import { execa, type ResultPromise } from 'execa';
import { EchoPanelError, isEchoPanelError, type Logger } from '@echopanel/plugin-api';
import {
  type BatchItemParams,
  type BatchResultMessage,
  encodeFrame,
  LineSplitter,
  parseMessage,
  type ReadyMessage,
  type ResultMessage,
  type TranscribeParams,
  type WorkerMessage,
} from './protocol.js';
import { processRssBytes } from './proc-rss.js';

export interface WorkerStartOptions {
  readonly pythonPath: string;
  readonly scriptPath: string;
  readonly modelPath: string;
  readonly sha256?: string;
  readonly device: string;
  readonly computeType: string;
  readonly cpuThreads: number;
  /** Requests the worker decodes at the same time. */
  readonly parallel: number;
  /** The worker's whole environment (not merged with this process's). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Limit for spawn + model load + ready handshake. */
  readonly startTimeoutMs: number;
  readonly logger: Logger;
  /** Aborting kills the starting worker and rejects with the signal's reason (e.g. unload during load). */
  readonly signal?: AbortSignal;
}

interface Pending {
  resolve: (msg: WorkerMessage) => void;
  reject: (err: unknown) => void;
}

const STDERR_TAIL = 20;

/**
 * One running faster-whisper worker: spawn + ready handshake, request/response by id over the framed
 * protocol, stderr to the logger, and every pending request rejected (WORKER_CRASHED) when the process dies.
 */
export class WorkerProcess {
  private readonly pending = new Map<number, Pending>();
  private readonly stderrTail: string[] = [];
  private nextId = 1;
  private exited = false;
  private killed = false;
  private exitInfo = '';
  private readonly exitListeners = new Set<(info: string) => void>();
  private readyMsg?: ReadyMessage;
  private readonly closed: Promise<void>;

  private constructor(
    private readonly child: ResultPromise<{ stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; buffer: false; reject: false }>,
    private readonly logger: Logger,
  ) {
    this.closed = new Promise((resolve) => child.once('close', () => resolve()));
  }

  /** Spawns the worker and waits for its `ready` (or `fatal`) message. */
  static async start(opts: WorkerStartOptions): Promise<WorkerProcess> {
    const args = [
      '-u',
      opts.scriptPath,
      '--model',
      opts.modelPath,
      '--device',
      opts.device,
      '--compute-type',
      opts.computeType,
      '--cpu-threads',
      String(opts.cpuThreads),
      '--parallel',
      String(opts.parallel),
      ...(opts.sha256 ? ['--sha256', opts.sha256] : []),
    ];
    const child = execa(opts.pythonPath, args, {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      // No signal-exit hook: the worker exits by itself when its stdin closes or its parent changes (see
      // worker.py), which also covers this process being SIGKILLed.
      cleanup: false,
      extendEnv: false,
      env: { ...opts.env, PYTHONUNBUFFERED: '1' },
    });
    const worker = new WorkerProcess(child, opts.logger);
    return worker.handshake(opts);
  }

  private handshake(opts: WorkerStartOptions): Promise<WorkerProcess> {
    const { child } = this;
    return new Promise<WorkerProcess>((resolve, reject) => {
      let settled = false;
      const fail = (err: EchoPanelError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.kill();
        reject(err);
      };
      const timer = setTimeout(() => {
        fail(new EchoPanelError('INIT_TIMEOUT', `faster-whisper worker did not become ready within ${opts.startTimeoutMs} ms${this.tail()}`));
      }, opts.startTimeoutMs);
      const onAbort = () => {
        const reason: unknown = opts.signal?.reason;
        fail(isEchoPanelError(reason) ? reason : new EchoPanelError('ABORTED', 'the worker start was cancelled'));
      };
      if (opts.signal?.aborted) onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });

      child.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'EACCES') {
          fail(new EchoPanelError('WORKER_START_FAILED', `no Python interpreter at ${opts.pythonPath} (${err.code})`, { cause: err }));
        } else {
          fail(new EchoPanelError('WORKER_START_FAILED', `could not start ${opts.pythonPath}: ${err.message}`, { cause: err }));
        }
      });

      const lines = new LineSplitter();
      child.stdout.on('data', (chunk: Buffer) => {
        for (const line of lines.push(chunk)) {
          const msg = parseMessage(line);
          if (!msg) {
            if (line.trim()) this.logger.warn({ line }, 'unexpected output from faster-whisper worker');
            continue;
          }
          if (msg.type === 'ready') {
            this.readyMsg = msg;
            if (!settled) {
              settled = true;
              clearTimeout(timer);
              opts.signal?.removeEventListener('abort', onAbort);
              resolve(this);
            }
          } else if (msg.type === 'fatal') {
            fail(new EchoPanelError(msg.code, `faster-whisper could not load ${opts.modelPath}: ${msg.message}`));
          } else {
            this.dispatch(msg);
          }
        }
      });

      const errLines = new LineSplitter();
      child.stderr.on('data', (chunk: Buffer) => {
        for (const line of errLines.push(chunk)) this.logStderr(line);
      });
      // A write to a worker that just died fails with EPIPE; the close handler reports the death.
      child.stdin.on('error', (err) => this.logger.debug({ err: err.message }, 'faster-whisper worker stdin closed'));

      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        const rest = errLines.flush();
        if (rest) this.logStderr(rest);
        this.exited = true;
        this.exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
        const err = new EchoPanelError('WORKER_CRASHED', `faster-whisper worker (pid ${child.pid}) ${this.exitInfo}${this.tail()}`);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        for (const l of this.exitListeners) l(this.exitInfo);
        fail(new EchoPanelError('WORKER_START_FAILED', `faster-whisper worker ${this.exitInfo} before it was ready${this.tail()}`));
      });
    });
  }

  /** The handshake's `ready` message (load time, model identity, device, compute type). */
  get ready(): ReadyMessage {
    if (!this.readyMsg) throw new EchoPanelError('NOT_READY', 'the faster-whisper worker has not reported ready');
    return this.readyMsg;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Running and not being killed. */
  get alive(): boolean {
    return !this.exited && !this.killed;
  }

  /** This side killed it (timeout, restart) rather than it dying on its own. */
  get killedByHost(): boolean {
    return this.killed;
  }

  /** How the process ended ('' while it runs). */
  get exitReason(): string {
    return this.exitInfo;
  }

  /** Called once when the process is gone (for any reason). */
  onExit(listener: (info: string) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /** Resident memory of the worker process (0 when unknown or gone). */
  rssBytes(): number {
    return this.alive && this.pid ? processRssBytes(this.pid) : 0;
  }

  /** Sends one chunk; resolves with the worker's result. An abort rejects at once (the answer is then ignored). */
  async transcribe(pcm: Int16Array, params: TranscribeParams, signal?: AbortSignal): Promise<ResultMessage> {
    const msg = await this.request({ op: 'transcribe', ...params }, pcm, signal);
    if (msg.type === 'result') return msg;
    throw new EchoPanelError('INFERENCE_FAILED', `unexpected ${msg.type} message from faster-whisper worker`);
  }

  /**
   * Sends several utterances as one `transcribe_batch` request (one frame, the PCM one after another); resolves
   * with one result or per-item error per item, in order. `shared` holds the options every item decodes with.
   */
  async transcribeBatch(
    items: readonly { readonly pcm: Int16Array; readonly params: BatchItemParams }[],
    shared: Pick<TranscribeParams, 'beamSize' | 'vadFilter' | 'draft'>,
    signal?: AbortSignal,
  ): Promise<BatchResultMessage> {
    const pcm = new Int16Array(items.reduce((n, item) => n + item.pcm.length, 0));
    let at = 0;
    for (const item of items) {
      pcm.set(item.pcm, at);
      at += item.pcm.length;
    }
    const header = { op: 'transcribe_batch', ...shared, items: items.map((item) => ({ ...item.params, bytes: item.pcm.byteLength })) };
    const msg = await this.request(header, pcm, signal);
    if (msg.type === 'result_batch' && msg.items.length === items.length) return msg;
    throw new EchoPanelError('INFERENCE_FAILED', `unexpected ${msg.type} message from faster-whisper worker (a batch of ${items.length})`);
  }

  /** Round trip through the worker's request loop. */
  async ping(signal?: AbortSignal): Promise<void> {
    await this.request({ op: 'ping' }, undefined, signal);
  }

  private request(header: Record<string, unknown>, pcm: Int16Array | undefined, signal?: AbortSignal): Promise<WorkerMessage> {
    if (!this.alive) {
      return Promise.reject(new EchoPanelError('WORKER_CRASHED', `faster-whisper worker is not running (${this.exitInfo || 'killed'})`));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.nextId++;
    return new Promise<WorkerMessage>((resolve, reject) => {
      const onAbort = () => {
        this.pending.delete(id);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (m) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(m);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      this.child.stdin.write(encodeFrame({ ...header, id }, pcm));
    });
  }

  private dispatch(msg: WorkerMessage): void {
    if (!('id' in msg)) return;
    const p = this.pending.get(msg.id);
    if (!p) return; // the requester gave up (timeout, abort); its late answer is dropped
    this.pending.delete(msg.id);
    if (msg.type === 'error') p.reject(new EchoPanelError(msg.code, `faster-whisper: ${msg.message}`));
    else p.resolve(msg);
  }

  /**
   * Clean shutdown: asks the worker to exit (it finishes the request in hand first), waits `graceMs`, then
   * kills it. Resolves when the process is gone.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.exited) return;
    if (!this.killed) {
      this.child.stdin.write(encodeFrame({ op: 'shutdown', id: this.nextId++ }));
      this.child.stdin.end();
    }
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const clean = await Promise.race([this.closed.then(() => true), graceOver]);
    clearTimeout(timer);
    if (!clean) {
      this.logger.warn({ pid: this.pid, graceMs }, 'faster-whisper worker did not exit in time; killing it');
      this.kill();
      await this.closed;
    }
  }

  /** SIGKILL, for a worker that hangs or must go now. */
  kill(): void {
    this.killed = true;
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** Resolves when the process has exited and its pipes are closed. */
  whenClosed(): Promise<void> {
    return this.closed;
  }

  private logStderr(line: string): void {
    if (!line.trim()) return;
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
    const m = /^(DEBUG|INFO|WARNING|ERROR) (.*)$/.exec(line);
    const level = m?.[1];
    const text = m ? m[2] : line;
    const bindings = { pid: this.child.pid };
    if (level === 'DEBUG') this.logger.debug(bindings, text);
    else if (level === 'INFO') this.logger.info(bindings, text);
    else if (level === 'ERROR' || /^(Traceback|\w+Error\b)/.test(line)) this.logger.error(bindings, text);
    else this.logger.warn(bindings, text);
  }

  private tail(): string {
    const last = this.stderrTail.slice(-5).join(' | ');
    return last ? `; worker stderr: ${last}` : '';
  }
}
