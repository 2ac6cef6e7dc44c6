import {
  assertSampleRate,
  EchoPanelError,
  errorMessage,
  int16ToFloat32,
  isEchoPanelError,
  type ASRProvider,
  type Availability,
  type DecodeOptions,
  type Device,
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
  type ChunkDecodeFn,
  decodeLongForm,
  type DecodeRequest,
  decodeUtterance,
  encoderWindowSeconds,
  EngineRunner,
  StreamCuts,
  transcribeInChunks,
} from '@echopanel/engine-kit';
import { defaultThreads, resolveDevice, type WhisperCppConfig } from './config.js';
import { inspectGgmlFile, type GgmlModelInfo } from './ggml-file.js';
import { findGgmlModel, isPathRef, locateGgmlModel, missingModelHint } from './model-locator.js';
import { NativeContext, loadSmartWhisper, nativeBuildInfo, type NativeParams } from './native-engine.js';
import { toRawSegments } from './segments.js';

const SAMPLE_RATE = 16000;
/** Shortest input whisper.cpp decodes (100 mel frames need 16160 samples), with a margin. */
const MIN_NATIVE_SAMPLES = 16_800;
/** How long unload() waits for running native calls before leaving the model to be freed when they end. */
const RELEASE_WAIT_MS = 10_000;

/** RSS snapshots around the last load and unload (health().extra.memory). */
interface MemoryMarks {
  rssBeforeLoad?: number;
  rssAfterLoad?: number;
  rssBeforeUnload?: number;
  rssAfterUnload?: number;
}

/**
 * whisper.cpp inside the Node process through smart-whisper. One native context per loaded model; each
 * inference runs in its own whisper_state on a libuv thread, up to `maxParallel` at once (EngineRunner queues
 * the rest). Chunking, silence skipping, hallucination guards and sample accounting are core's
 * `transcribeInChunks`; timing and the timeout rule are core's `EngineRunner`.
 *
 * Timeouts: a native whisper_full call cannot be interrupted. When one overruns `inferenceTimeoutMs`, its
 * chunk is reported dropped, the context it runs on is retired (freed when that call finally returns) and a
 * fresh context is loaded for the retry and for later requests; `health().extra.orphanedCalls` counts
 * native calls still running on retired contexts.
 */
export class WhisperCppProvider implements ASRProvider {
  readonly name = 'whisper-cpp';
  readonly capabilities: ProviderCapabilities;
  private readonly logger: Logger;
  private readonly runner: EngineRunner;
  private readonly streams = new StreamCuts('whisper-cpp');
  private readonly device: Device;
  private readonly threads: number;
  private modelRef: string;
  private chunkSeconds: number;
  private beamSize: number;

  private context?: NativeContext;
  private loading?: Promise<NativeContext>;
  private readonly retired = new Set<NativeContext>();
  private resolved?: ResolvedModel;
  private info?: GgmlModelInfo;
  private state: ModelState = 'UNINITIALIZED';
  private loadedAt?: string;
  private loadMs?: number;
  private readonly memory: MemoryMarks = {};
  private offloadTimer?: NodeJS.Timeout;
  private offloads = 0;
  private peakParallel = 0;

  constructor(
    private readonly config: WhisperCppConfig,
    private readonly ctx: PluginContext,
  ) {
    this.logger = ctx.logger;
    this.device = resolveDevice(config.device);
    this.threads = config.threads ?? defaultThreads(this.device);
    this.modelRef = config.model;
    this.chunkSeconds = config.chunkSeconds;
    this.beamSize = config.beamSize;
    this.capabilities = {
      streaming: false,
      partialResults: false,
      wordTimestamps: true,
      languages: /\.en(\.bin)?$/i.test(config.model) ? ['en'] : 'multilingual',
      devices: process.platform === 'darwin' && process.arch === 'arm64' ? ['cpu', 'metal'] : ['cpu'],
      decode: true,
      recording: true,
    };
    this.runner = new EngineRunner({
      concurrency: config.maxParallel,
      timeoutMs: config.inferenceTimeoutMs,
      logger: this.logger,
      recover: (reason) => this.replaceContext(reason),
      isRecoverable: (err) => err.code === 'INFERENCE_TIMEOUT',
    });
  }

  async availability(): Promise<Availability> {
    try {
      loadSmartWhisper();
    } catch (err) {
      return { available: false, reason: errorMessage(err), hint: 'run `node scripts/build-smart-whisper.mjs`' };
    }
    const { model, searched } = await findGgmlModel(this.modelRef, this.ctx);
    if (!model) {
      return {
        available: false,
        reason: `ggml model "${this.modelRef}" not found (searched: ${searched.join(', ')})`,
        hint: missingModelHint(this.modelRef),
        code: 'MODEL_NOT_FOUND',
      };
    }
    try {
      inspectGgmlFile(model.path);
    } catch (err) {
      return { available: false, reason: errorMessage(err), hint: missingModelHint(this.modelRef), code: isEchoPanelError(err) ? err.code : 'MODEL_CORRUPT' };
    }
    return { available: true };
  }

  /** Finds, checks and loads the model (idempotent; concurrent callers share one load). */
  async load(): Promise<void> {
    await this.ensureContext();
  }

  /** Frees the model; streams running on it end with ABORTED. */
  async unload(): Promise<void> {
    this.streams.cutAll();
    await this.release();
  }

  /** Frees the model (an idle offload, a model switch or a timeout recovery: the streams go on and reload it). */
  private async release(): Promise<void> {
    this.clearOffloadTimer();
    const pending = this.loading;
    if (pending) await pending.catch(() => undefined);
    const ctx = this.context;
    if (!ctx) return;
    this.state = 'UNLOADING';
    this.context = undefined;
    this.memory.rssBeforeUnload = process.memoryUsage.rss();
    const { freed } = await ctx.release(RELEASE_WAIT_MS);
    if (!freed) {
      this.retire(ctx);
      this.logger.warn({ running: ctx.running }, 'whisper.cpp calls still running at unload; the model is freed when they return');
    }
    this.memory.rssAfterUnload = process.memoryUsage.rss();
    this.state = 'UNINITIALIZED';
    this.logger.info({ rssBefore: this.memory.rssBeforeUnload, rssAfter: this.memory.rssAfterUnload }, 'whisper.cpp model unloaded');
  }

  async dispose(): Promise<void> {
    await this.unload();
  }

  async *transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncIterable<Segment> {
    assertSampleRate(opts.sampleRate, SAMPLE_RATE, 'whisper.cpp');
    // A missing or corrupt model fails the request up front instead of dropping every chunk.
    await this.ensureContext();
    yield* this.streams.run(opts.signal, (signal) =>
      transcribeInChunks(audio, { ...opts, signal }, (req) => this.decodeStreamChunk(req), {
        chunkSeconds: () => this.chunkSeconds,
        onFiltered: (seg, reason) => this.logger.debug({ text: seg.text, reason }, 'segment filtered'),
      }),
    );
  }

  async decode(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> {
    assertSampleRate(opts.sampleRate, SAMPLE_RATE, 'whisper.cpp');
    if (pcm.length === 0) return [];
    return decodeUtterance(pcm, opts, this.decodeChunk);
  }

  /** whisper_full over the whole recording: its own 30 s windows, each with the text before it as context. */
  async decodeRecording(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> {
    assertSampleRate(opts.sampleRate, SAMPLE_RATE, 'whisper.cpp');
    if (pcm.length === 0) return [];
    return decodeLongForm(pcm, opts, this.decodeChunk);
  }

  /** What the host cannot see: whether the context is loaded (it is offloaded when idle), its size, the native build. */
  health(): ProviderHealthReport {
    const orphaned = [...this.retired].reduce((n, c) => n + c.running, 0);
    return {
      state: this.state,
      modelResident: this.context !== undefined,
      restarts: this.runner.restarts,
      memory: {
        workerRssBytes: 0,
        ...(this.context && this.info ? { modelResidentBytes: this.info.sizeBytes } : {}),
      },
      extra: {
        // The context loads lazily and again after an idle offload: when it last did, and how long it took.
        ...(this.loadedAt ? { contextLoadedAt: this.loadedAt } : {}),
        ...(this.loadMs !== undefined ? { contextLoadMs: this.loadMs } : {}),
        queued: this.runner.backlog,
        device: this.device,
        threads: this.threads,
        maxParallel: this.config.maxParallel,
        chunkSeconds: this.chunkSeconds,
        beamSize: this.beamSize,
        build: nativeBuildInfo(),
        memory: { ...this.memory },
        orphanedCalls: orphaned,
        peakParallel: this.peakParallel,
        offloads: this.offloads,
        ...(this.info ? { model: { path: this.info.path, type: this.info.modelType, weights: this.info.weightType } } : {}),
      },
    };
  }

  modelInfo(): ModelIdentity | undefined {
    if (this.resolved) return this.resolved.identity;
    return { name: this.modelRef, format: 'ggml', ...(isPathRef(this.modelRef) ? { path: this.modelRef } : {}) };
  }

  tuning(): RuntimeTuning {
    return { chunkSeconds: this.chunkSeconds, beamSize: this.beamSize, model: this.modelRef };
  }

  async tune(tuning: RuntimeTuning): Promise<RuntimeTuning> {
    const applied: { chunkSeconds?: number; beamSize?: number; model?: string } = {};
    if (tuning.chunkSeconds !== undefined && tuning.chunkSeconds > 0) {
      this.chunkSeconds = Math.min(30, Math.max(0.5, tuning.chunkSeconds));
      applied.chunkSeconds = this.chunkSeconds;
    }
    if (tuning.beamSize !== undefined && tuning.beamSize >= 1) {
      this.beamSize = Math.min(16, Math.round(tuning.beamSize));
      applied.beamSize = this.beamSize;
    }
    if (tuning.model !== undefined && tuning.model !== this.modelRef) {
      const previous = this.modelRef;
      const wasLoaded = this.context !== undefined;
      await this.release();
      this.modelRef = tuning.model;
      this.resolved = undefined;
      this.info = undefined;
      try {
        if (wasLoaded) await this.load();
        applied.model = this.modelRef;
      } catch (err) {
        this.logger.error({ model: tuning.model, err: errorMessage(err) }, 'switching model failed; keeping the previous one');
        this.modelRef = previous;
        this.resolved = undefined;
        this.info = undefined;
        if (wasLoaded) await this.load();
      }
    }
    return applied;
  }

  /** A stream's chunk: not decoded (nor the model loaded again) once the stream was cancelled or cut by unload(). */
  private async decodeStreamChunk(req: DecodeRequest): ReturnType<ChunkDecodeFn> {
    if (req.signal?.aborted) throw new EchoPanelError('ABORTED', 'the stream was cancelled');
    return this.decodeChunk(req);
  }

  /** The ChunkDecodeFn shared by transcribe() and decode(). */
  private readonly decodeChunk: ChunkDecodeFn = async (req: DecodeRequest) => {
    if (req.pcm.length === 0) return [];
    await this.ensureContext();
    // whisper.cpp returns nothing for input under 100 mel frames (16160 samples; "input is too short"): an
    // utterance or tail under ~1 s would come back empty. Trailing silence makes it decodable.
    const float = int16ToFloat32(req.pcm, new Float32Array(Math.max(req.pcm.length, MIN_NATIVE_SAMPLES)));
    const audioSeconds = req.pcm.length / req.sampleRate;
    const native = await this.runner.run(
      async () => {
        const ctx = await this.ensureContext();
        this.peakParallel = Math.max(this.peakParallel, this.runner.queue.runningCount);
        // Share the configured threads between the inferences running now (2 parallel on 2 threads → 1 each).
        const threads = Math.max(1, Math.floor(this.threads / Math.max(1, this.runner.queue.runningCount)));
        return ctx.transcribe(float, this.params(req, threads, float.length));
      },
      // A recording of minutes takes longer than one chunk: allow it real time on top of the per-chunk limit.
      { signal: req.signal, onEvent: req.onEvent, ...(req.longForm ? { timeoutMs: this.config.inferenceTimeoutMs + audioSeconds * 1000 } : {}) },
    );
    this.armOffloadTimer();
    return toRawSegments(native, req.wordTimestamps === true);
  };

  private params(req: DecodeRequest, threads: number, samples: number): NativeParams {
    const language = req.language ?? this.config.language ?? (this.info?.englishOnly ? 'en' : 'auto');
    // A draft (a stream's partial, replaced by its final) is decoded greedily, once, on a shorter encoder window:
    // a partial still decoding when the utterance ends delays its final.
    const draft = req.draft === true;
    const beam = draft ? 1 : this.beamSize;
    return {
      strategy: beam > 1 ? 1 : 0,
      ...(beam > 1 ? { beam_size: beam } : {}),
      ...(draft ? { temperature_inc: 0 } : {}),
      n_threads: threads,
      language: this.info?.englishOnly ? 'en' : language,
      ...(req.prompt ? { initial_prompt: req.prompt } : {}),
      token_timestamps: req.wordTimestamps === true,
      // A chunk or utterance is decoded on its own; a whole recording carries text between whisper's windows.
      no_context: req.longForm !== true,
      suppress_blank: true,
      suppress_non_speech_tokens: true,
      print_progress: false,
      print_realtime: false,
      print_timestamps: false,
      format: 'detail',
      // whisper.cpp's audio_ctx counts encoder positions, 50 per second.
      ...(req.longForm ? {} : { audio_ctx: encoderWindowSeconds(samples / 16000, { draft }) * 50 }),
    };
  }

  private async ensureContext(): Promise<NativeContext> {
    if (this.context) return this.context;
    if (!this.loading) {
      this.loading = this.loadContext().finally(() => {
        this.loading = undefined;
      });
    }
    return this.loading;
  }

  private async loadContext(): Promise<NativeContext> {
    this.state = 'LOADING';
    const started = performance.now();
    try {
      this.resolved ??= await locateGgmlModel(this.modelRef, this.ctx);
      this.info = inspectGgmlFile(this.resolved.path);
      if (this.config.device === 'cuda' || (this.config.device === 'metal' && this.device !== 'metal')) {
        this.logger.warn({ device: this.config.device }, 'this smart-whisper build has no such GPU backend; running on CPU');
      }
      this.memory.rssBeforeLoad = process.memoryUsage.rss();
      const ctx = await NativeContext.load(this.resolved.path, this.device !== 'cpu');
      this.memory.rssAfterLoad = process.memoryUsage.rss();
      this.context = ctx;
      this.loadMs = Math.round(performance.now() - started);
      this.loadedAt = this.ctx.clock.date().toISOString();
      this.state = 'READY';
      this.logger.info(
        { model: this.resolved.path, by: this.resolved.resolvedBy, device: this.device, threads: this.threads, loadMs: this.loadMs, build: nativeBuildInfo().variant },
        'whisper.cpp model loaded',
      );
      this.armOffloadTimer();
      return ctx;
    } catch (err) {
      this.state = 'ERROR';
      const e = isEchoPanelError(err) ? err : new EchoPanelError('MODEL_CORRUPT', errorMessage(err), { cause: err });
      if (e.code === 'MODEL_NOT_FOUND' || e.code === 'MODEL_CORRUPT') this.resolved = undefined;
      throw e;
    }
  }

  /** EngineRunner's recovery after a timeout: retire the context the stuck call runs on, load a fresh one. */
  private async replaceContext(reason: EchoPanelError): Promise<void> {
    const old = this.context;
    this.context = undefined;
    if (old) {
      this.retire(old);
      this.logger.warn({ reason: reason.message, running: old.running }, 'retired the whisper.cpp context; loading a fresh one');
    }
    await this.ensureContext();
  }

  /** Keeps a context with native calls still running visible in health() until they return and it is freed. */
  private retire(ctx: NativeContext): void {
    this.retired.add(ctx);
    void ctx.release(0);
    void ctx.idle().then(() => this.retired.delete(ctx));
  }

  private armOffloadTimer(): void {
    if (this.config.offloadSeconds <= 0) return;
    this.clearOffloadTimer();
    this.offloadTimer = setTimeout(() => {
      if (this.runner.backlog > 0) return this.armOffloadTimer();
      this.offloads++;
      this.logger.info({ idleSeconds: this.config.offloadSeconds }, 'offloading idle whisper.cpp model');
      void this.release();
    }, this.config.offloadSeconds * 1000);
    // An idle timer must not keep the process alive.
    this.offloadTimer.unref();
  }

  private clearOffloadTimer(): void {
    if (this.offloadTimer) clearTimeout(this.offloadTimer);
    this.offloadTimer = undefined;
  }
}
