import os from 'node:os';
import path from 'node:path';
import {
  assertSampleRate,
  EchoPanelError,
  errorMessage,
  hasErrorCode,
  isEchoPanelError,
  type ASRProvider,
  type Availability,
  type DecodeBatchItem,
  type DecodeOptions,
  type Logger,
  type ModelIdentity,
  type ModelState,
  type PluginContext,
  type ProviderCapabilities,
  type ProviderHealthReport,
  type ResolvedModel,
  type RuntimeTuning,
  type Segment,
  type TranscribeOptions,
} from '@echopanel/plugin-api';
import {
  decodeLongForm,
  type DecodeRequest,
  decodeUtterance,
  decodeUtterances,
  encoderWindowSeconds,
  EngineRunner,
  type RawSegment,
  type RunOptions,
  SlidingWindow,
  StreamCuts,
  transcribeInChunks,
} from '@echopanel/engine-kit';
import type { FasterWhisperConfig } from './config.js';
import { probePython, type ProbeOutcome } from './probe.js';
import type { BatchItemParams, ResultMessage, TranscribeParams } from './protocol.js';
import { WORKER_SCRIPT_PATH } from './worker-script.js';
import { WorkerProcess } from './worker-process.js';

const SAMPLE_RATE = 16000;
const PROBE_TIMEOUT_MS = 60000;

/**
 * faster-whisper (CTranslate2) in a resident Python worker. One worker per provider instance, `parallelDecodes`
 * requests at a time (queue depth = backlog); a request past `inferenceTimeoutMs` or a dead worker gets the
 * worker killed and restarted and the chunk retried once.
 */
export class FasterWhisperProvider implements ASRProvider {
  readonly name = 'faster-whisper';
  private readonly logger: Logger;
  private readonly runner: EngineRunner;
  private readonly streams = new StreamCuts('faster-whisper');
  /** Inference time as the worker measures it (engine only), next to the host's end-to-end time. */
  private readonly engineMs = new SlidingWindow(200);
  private engineLastMs?: number;
  /** `decodeBatch` items the worker decoded in a shared engine call, and those it decoded alone (see worker.py). */
  private batchItemsShared = 0;
  private batchItemsAlone = 0;
  private worker?: WorkerProcess;
  private starting?: Promise<WorkerProcess>;
  private startAbort?: AbortController;
  private goodProbe?: { python: string; outcome: ProbeOutcome };
  private resolved?: ResolvedModel;
  private state: ModelState = 'UNINITIALIZED';
  private modelRef: string;
  private beamSize: number;
  private chunkSeconds: number;
  private consecutiveRestarts = 0;
  private restarting?: Promise<void>;
  /** Requests the worker decodes at the same time (config `parallelDecodes`). */
  private readonly parallel: number;
  /** Set after `maxRestarts` restarts in a row without a success; only an explicit `load()` clears it. */
  private gaveUp = false;

  constructor(
    private readonly config: FasterWhisperConfig,
    private readonly ctx: PluginContext,
  ) {
    this.logger = ctx.logger;
    this.modelRef = config.model;
    this.beamSize = config.beamSize;
    this.chunkSeconds = config.chunkSeconds;
    this.parallel = config.parallelDecodes ?? Math.min(2, os.availableParallelism());
    this.runner = new EngineRunner({
      concurrency: this.parallel,
      timeoutMs: config.inferenceTimeoutMs,
      logger: this.logger,
      recover: (reason) => this.restartWorker(reason),
      isRecoverable: (err) => !this.gaveUp && (err.code === 'INFERENCE_TIMEOUT' || err.code === 'WORKER_CRASHED'),
    });
  }

  get capabilities(): ProviderCapabilities {
    const multilingual = this.worker?.alive ? this.worker.ready.model.multilingual : !/\.en$/i.test(path.basename(this.modelRef));
    return {
      streaming: true,
      partialResults: false,
      wordTimestamps: true,
      languages: multilingual ? 'multilingual' : ['en'],
      devices: ['cpu', 'cuda'],
      decode: true,
      recording: true,
      maxBatchSize: this.config.maxBatchSize,
      parallelDecodes: this.parallel,
    };
  }

  /** The interpreter the worker runs on: the slice's `pythonPath` (relative to the config dir) or the host's. */
  get pythonPath(): string {
    const p = this.config.pythonPath ?? this.ctx.pythonPath;
    return p.includes('/') && !path.isAbsolute(p) ? path.resolve(this.ctx.configDir, p) : p;
  }

  async availability(): Promise<Availability> {
    const python = this.pythonPath;
    // A good interpreter stays good; failures are probed again (the user may install faster-whisper meanwhile).
    const cached = this.goodProbe?.python === python ? this.goodProbe.outcome : undefined;
    const probe = cached ?? (await probePython(python, WORKER_SCRIPT_PATH, this.ctx.env, PROBE_TIMEOUT_MS));
    if (probe.kind === 'ok') this.goodProbe = { python, outcome: probe };
    if (probe.kind === 'no-python') {
      return {
        available: false,
        reason: probe.message,
        hint: 'set providers.faster-whisper.pythonPath (or ECHOPANEL_PYTHON) to a Python 3.9+ interpreter, or create the project venv with `node scripts/bootstrap.mjs`',
      };
    }
    if (probe.kind === 'not-importable') {
      return { available: false, reason: probe.message, hint: `${python} -m pip install faster-whisper` };
    }
    try {
      if (!(await this.ctx.models.find(this.modelRef, 'ct2'))) {
        await this.ctx.models.resolve(this.modelRef, 'ct2', { allowDownload: false });
      }
    } catch (err) {
      const hint = isEchoPanelError(err) && typeof err.details?.hint === 'string' ? err.details.hint : undefined;
      return { available: false, reason: errorMessage(err), ...(hint ? { hint } : {}), ...(isEchoPanelError(err) ? { code: err.code } : {}) };
    }
    return { available: true };
  }

  /** Starts the worker and loads the model; concurrent callers share one start. Clears a given-up state. */
  async load(): Promise<void> {
    this.gaveUp = false;
    this.consecutiveRestarts = 0;
    await this.ensureWorker();
  }

  /** Stops the worker, which frees the model's memory; streams running on it end with ABORTED. */
  async unload(): Promise<void> {
    this.streams.cutAll();
    await this.stopWorker();
  }

  /** Stops the worker (clean shutdown, then kill after `shutdownGraceMs`); a model switch reuses it mid-stream. */
  private async stopWorker(): Promise<void> {
    if (this.starting) {
      this.startAbort?.abort(new EchoPanelError('ABORTED', 'faster-whisper was unloaded while its worker was starting'));
      await this.starting.catch(() => undefined);
    }
    const w = this.worker;
    this.worker = undefined;
    if (w) {
      this.state = 'UNLOADING';
      await w.stop(this.config.shutdownGraceMs);
      this.logger.info({ pid: w.pid }, 'faster-whisper worker stopped');
    }
    this.resolved = undefined;
    this.state = 'UNINITIALIZED';
  }

  async dispose(): Promise<void> {
    await this.unload();
  }

  async *transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncIterable<Segment> {
    assertSampleRate(opts.sampleRate, SAMPLE_RATE, this.name);
    await this.ensureWorker();
    yield* this.streams.run(opts.signal, (signal) =>
      transcribeInChunks(audio, { ...opts, signal }, (req) => this.decodeStreamChunk(req), {
        chunkSeconds: () => this.chunkSeconds,
        onFiltered: (seg, reason) => this.logger.debug({ text: seg.text, reason }, 'dropped a likely hallucination'),
      }),
    );
  }

  async decode(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> {
    assertSampleRate(opts.sampleRate, SAMPLE_RATE, this.name);
    return decodeUtterance(pcm, opts, (req) => this.decodeChunk(req));
  }

  /**
   * Utterances decoded together in the worker (one `generate` per encoder window, word-timestamp setting and
   * prompt length), each with the words `decode` gives it; more than `maxBatchSize` items go in several calls.
   * Item signals are not read.
   */
  async decodeBatch(items: readonly DecodeBatchItem[]): Promise<Segment[][]> {
    for (const item of items) assertSampleRate(item.opts.sampleRate, SAMPLE_RATE, this.name);
    const out: Segment[][] = [];
    for (let at = 0; at < items.length; at += this.config.maxBatchSize) {
      out.push(...(await decodeUtterances(items.slice(at, at + this.config.maxBatchSize), (reqs) => this.decodeChunks(reqs))));
    }
    return out;
  }

  /** faster-whisper's own `transcribe` over the whole recording (30 s windows, previous-text conditioning). */
  async decodeRecording(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> {
    assertSampleRate(opts.sampleRate, SAMPLE_RATE, this.name);
    return decodeLongForm(pcm, opts, (req) => this.decodeChunk(req));
  }

  /** What the host cannot see: the worker (pid, RSS, restarts), the model's size, settings and engine-side timings. */
  health(): ProviderHealthReport {
    const w = this.worker?.alive ? this.worker : undefined;
    const ready = w?.ready;
    return {
      state: this.state,
      modelResident: w !== undefined,
      restarts: this.runner.restarts,
      ...(w?.pid !== undefined ? { workerPid: w.pid } : {}),
      memory: {
        workerRssBytes: w?.rssBytes() ?? 0,
        ...(ready?.model.sizeBytes ? { modelResidentBytes: ready.model.sizeBytes } : {}),
      },
      extra: {
        queued: this.runner.backlog,
        model: this.modelRef,
        beamSize: this.beamSize,
        chunkSeconds: this.chunkSeconds,
        engineLastInferMs: this.engineLastMs,
        engineAvgInferMs: this.engineMs.mean(),
        engineP50InferMs: this.engineMs.percentile(50),
        batchItemsShared: this.batchItemsShared,
        batchItemsAlone: this.batchItemsAlone,
        ...(ready
          ? {
              modelPath: ready.model.path,
              device: ready.device,
              computeType: ready.computeType,
              parallelDecodes: ready.parallel ?? 1,
              workerLoadMs: ready.loadMs,
              versions: ready.versions,
            }
          : {}),
      },
    };
  }

  modelInfo(): ModelIdentity {
    const ready = this.worker?.alive ? this.worker.ready : undefined;
    if (this.resolved) {
      return {
        ...this.resolved.identity,
        path: this.resolved.path,
        ...(ready?.model.sizeBytes && this.resolved.identity.sizeBytes === undefined ? { sizeBytes: ready.model.sizeBytes } : {}),
        source: this.resolved.identity.source ?? this.resolved.resolvedBy,
      };
    }
    return { name: this.modelRef, format: 'ct2' };
  }

  tuning(): RuntimeTuning {
    return { beamSize: this.beamSize, chunkSeconds: this.chunkSeconds, model: this.modelRef };
  }

  /**
   * Degrade-ladder knobs: `beamSize` and `chunkSeconds` apply from the next chunk; `model` switches weights
   * (resolved first; the worker is swapped between requests). Returns what was applied.
   */
  async tune(tuning: RuntimeTuning): Promise<RuntimeTuning> {
    const applied: { beamSize?: number; chunkSeconds?: number; model?: string } = {};
    if (tuning.beamSize !== undefined) {
      this.beamSize = Math.max(1, Math.min(10, Math.round(tuning.beamSize)));
      applied.beamSize = this.beamSize;
    }
    if (tuning.chunkSeconds !== undefined && tuning.chunkSeconds > 0) {
      this.chunkSeconds = Math.min(30, tuning.chunkSeconds);
      applied.chunkSeconds = this.chunkSeconds;
    }
    if (tuning.model !== undefined && tuning.model !== this.modelRef) {
      try {
        const next = await this.ctx.models.resolve(tuning.model, 'ct2');
        await this.runner.queue.run(async () => {
          const wasLoaded = this.worker !== undefined;
          await this.stopWorker();
          this.modelRef = tuning.model!;
          this.resolved = next;
          if (wasLoaded) await this.ensureWorker();
        });
        applied.model = this.modelRef;
      } catch (err) {
        this.logger.warn({ model: tuning.model, err: errorMessage(err) }, 'model switch not applied');
      }
    }
    this.logger.info({ applied }, 'faster-whisper tuning applied');
    return applied;
  }

  /** A stream's chunk: not decoded (nor the worker started again) once the stream was cancelled or cut by unload(). */
  private async decodeStreamChunk(req: DecodeRequest): Promise<RawSegment[]> {
    if (req.signal?.aborted) throw new EchoPanelError('ABORTED', 'the stream was cancelled');
    return this.decodeChunk(req);
  }

  private async decodeChunk(req: DecodeRequest): Promise<RawSegment[]> {
    if (req.pcm.length === 0) return [];
    assertSampleRate(req.sampleRate, SAMPLE_RATE, this.name);
    const params = this.transcribeParams(req);
    const audioSeconds = req.pcm.length / req.sampleRate;
    const result = await this.runOnWorker(
      (w, signal) => w.transcribe(req.pcm, params, signal),
      // A recording of minutes takes longer than one chunk: allow it real time on top of the per-chunk limit.
      { signal: req.signal, onEvent: req.onEvent, ...(req.longForm ? { timeoutMs: this.config.inferenceTimeoutMs + audioSeconds * 1000 } : {}) },
    );
    return toRawSegments(result);
  }

  /**
   * Independent utterances in one `transcribe_batch` request (empty ones are not sent; fewer than two left go
   * through `decodeChunk`). The per-utterance time limit holds per item: a batch of n has n × inferenceTimeoutMs.
   * An item the worker rejects (INVALID_AUDIO) rejects the batch with its code, so the host decodes the items
   * one by one and only that one fails.
   */
  private async decodeChunks(reqs: readonly DecodeRequest[]): Promise<RawSegment[][]> {
    const live = reqs.filter((req) => req.pcm.length > 0);
    if (live.length < 2) return Promise.all(reqs.map((req) => this.decodeChunk(req)));
    const items = live.map((req) => {
      const p = this.transcribeParams(req);
      const params: BatchItemParams = { language: p.language, wordTimestamps: p.wordTimestamps, prompt: p.prompt, encoderSeconds: p.encoderSeconds };
      return { pcm: req.pcm, params };
    });
    // Drafts (partials) are batched with partials only; the worker decodes a batch of them once each.
    const drafts = live.every((req) => req.draft);
    const shared = { beamSize: this.beamSize, vadFilter: this.config.vadFilter, ...(drafts ? { draft: true } : {}) };
    const result = await this.runOnWorker((w, signal) => w.transcribeBatch(items, shared, signal), {
      timeoutMs: this.config.inferenceTimeoutMs * live.length,
    });
    const decoded = result.items.map((item, i) => {
      if ('error' in item) throw new EchoPanelError(item.error.code, `faster-whisper: item ${i} of a batch of ${live.length}: ${item.error.message}`);
      if (item.batchSize > 1) this.batchItemsShared++;
      else this.batchItemsAlone++;
      return toRawSegments(item);
    });
    let next = 0;
    return reqs.map((req) => (req.pcm.length === 0 ? [] : decoded[next++]));
  }

  private transcribeParams(req: DecodeRequest): TranscribeParams {
    const seconds = req.pcm.length / req.sampleRate;
    return {
      beamSize: this.beamSize,
      language: req.language ?? this.config.language,
      vadFilter: this.config.vadFilter,
      wordTimestamps: req.wordTimestamps ?? false,
      prompt: req.prompt,
      // A draft (a partial its final replaces) is decoded once, without the temperature fallback: greedy search or
      // a shorter encoder window doubled the partials' WER on the test sentences (17 % against 8 % over 150 words).
      ...(req.draft ? { draft: true } : {}),
      ...(req.longForm ? { conditionOnPreviousText: true } : { encoderSeconds: encoderWindowSeconds(seconds) }),
    };
  }

  /** One worker request through the runner (queue, time limit, restart + one retry), timed by the worker. */
  private async runOnWorker<T extends { readonly inferMs: number }>(
    call: (w: WorkerProcess, signal: AbortSignal) => Promise<T>,
    opts: RunOptions,
  ): Promise<T> {
    // Lazy start only when there is no worker at all: a worker that died mid-stream is the runner's business
    // (WORKER_CRASHED → restart event → retry), so the stream hears about it.
    if (!this.gaveUp && this.worker === undefined) await this.ensureWorker();
    return this.runner.run(async (signal) => {
      const w = this.worker;
      if (!w?.alive) {
        throw new EchoPanelError(
          'WORKER_CRASHED',
          this.gaveUp
            ? `faster-whisper worker failed ${this.consecutiveRestarts} times in a row; not restarting it (call load() to try again)`
            : `faster-whisper worker is not running (${w?.exitReason || 'not started'})`,
        );
      }
      // A timed-out worker is stuck in native code: kill it now, so that even when the retry fails too no
      // later request is queued behind a hung process.
      const onAbort = () => {
        if (hasErrorCode(signal.reason, 'INFERENCE_TIMEOUT')) w.kill();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        const result = await call(w, signal);
        this.consecutiveRestarts = 0;
        this.engineMs.push(result.inferMs);
        this.engineLastMs = result.inferMs;
        return result;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }, opts);
  }

  private ensureWorker(): Promise<WorkerProcess> {
    if (this.worker?.alive) return Promise.resolve(this.worker);
    if (this.gaveUp) {
      return Promise.reject(
        new EchoPanelError('WORKER_CRASHED', 'faster-whisper worker keeps failing; not restarting it (call load() to try again)'),
      );
    }
    this.starting ??= this.startWorker().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async startWorker(): Promise<WorkerProcess> {
    this.state = 'LOADING';
    const started = performance.now();
    const abort = new AbortController();
    this.startAbort = abort;
    try {
      this.resolved ??= await this.ctx.models.resolve(this.modelRef, 'ct2', { signal: abort.signal });
      abort.signal.throwIfAborted();
      const w = await WorkerProcess.start({
        pythonPath: this.pythonPath,
        scriptPath: WORKER_SCRIPT_PATH,
        modelPath: this.resolved.path,
        sha256: this.resolved.identity.sha256,
        device: this.config.device,
        computeType: this.config.computeType,
        cpuThreads: this.config.cpuThreads,
        parallel: this.parallel,
        env: this.ctx.env,
        startTimeoutMs: this.config.startTimeoutMs,
        logger: this.logger,
        signal: abort.signal,
      });
      const ready = w.ready;
      for (const notice of ready.notices) this.logger.warn({ model: this.modelRef }, notice);
      w.onExit((info) => {
        if (this.worker !== w) return; // replaced or unloaded
        this.state = 'ERROR';
        if (!w.killedByHost) {
          this.logger.warn({ pid: w.pid, info }, 'faster-whisper worker exited unexpectedly; it restarts on the next request');
        }
      });
      this.worker = w;
      this.state = 'READY';
      this.logger.info(
        { pid: w.pid, model: ready.model.path, device: ready.device, computeType: ready.computeType, loadMs: Math.round(performance.now() - started), workerLoadMs: ready.loadMs },
        'faster-whisper worker ready',
      );
      return w;
    } catch (err) {
      if (abort.signal.aborted) {
        this.state = 'UNINITIALIZED';
        throw abort.signal.reason;
      }
      this.state = 'ERROR';
      throw isEchoPanelError(err) ? err : new EchoPanelError('WORKER_START_FAILED', errorMessage(err), { cause: err });
    } finally {
      if (this.startAbort === abort) this.startAbort = undefined;
    }
  }

  /** EngineRunner's recovery: kill -9 the current worker, start a fresh one (bounded by `maxRestarts`). */
  private restartWorker(reason: EchoPanelError): Promise<void> {
    // Requests decoded in parallel fail together when their worker dies: one restart serves them all.
    this.restarting ??= this.replaceWorker(reason).finally(() => (this.restarting = undefined));
    return this.restarting;
  }

  private async replaceWorker(reason: EchoPanelError): Promise<void> {
    this.consecutiveRestarts++;
    const old = this.worker;
    this.worker = undefined;
    if (old) {
      old.kill();
      await old.whenClosed();
    }
    if (this.consecutiveRestarts > this.config.maxRestarts) {
      this.gaveUp = true;
      this.state = 'ERROR';
      throw new EchoPanelError(
        'WORKER_CRASHED',
        `faster-whisper worker failed ${this.consecutiveRestarts} times in a row (last: ${reason.message}); not restarting it (call load() to try again)`,
      );
    }
    this.logger.warn({ code: reason.code, pid: old?.pid, restart: this.consecutiveRestarts }, 'restarting the faster-whisper worker');
    await this.ensureWorker();
  }
}

function toRawSegments(result: Pick<ResultMessage, 'segments' | 'language'>): RawSegment[] {
  return result.segments.map((s) => ({
    text: s.text,
    start: s.start,
    end: s.end,
    avgLogprob: s.avg_logprob,
    noSpeechProb: s.no_speech_prob,
    compressionRatio: s.compression_ratio,
    ...(result.language ? { language: result.language } : {}),
    ...(s.words ? { words: s.words } : {}),
  }));
}
