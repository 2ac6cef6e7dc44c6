import {
  type ASRProvider,
  type Availability,
  type Clock,
  type DecodeOptions,
  EchoPanelError,
  errorMessage,
  isEchoPanelError,
  type Logger,
  type ModelIdentity,
  type ModelState,
  type ProviderCapabilities,
  type RuntimeTuning,
  type Segment,
  silentLogger,
  systemClock,
  type TranscribeOptions,
  type TranscriptionEvent,
} from '@echopanel/plugin-api';
import type { DegradeHealth, ErrorRecord, HostProvider, ProviderHealth } from '../health/provider-health.js';
import type { DecodeSchedulerSettings } from '../scheduling/decode-scheduler.js';
import { ErrorHistory } from './error-history.js';
import { Listeners } from './listeners.js';
import { HOST_HEALTH, MeasuredProvider, measureProvider } from './measured-provider.js';
import { assertTransition } from './model-state-machine.js';
import { RecoveryBackoff, type RecoveryOptions, type RecoveryStatus } from './recovery-backoff.js';
import { runWarmup, type WarmupLevel, type WarmupOptions, type WarmupReport } from './warmup.js';

export interface ModelManagerOptions {
  /** The plugin's provider (measured by the host, see {@link measureProvider}) or a host composition of them. */
  readonly provider: ASRProvider | HostProvider;
  /** Warmup level (default 2): 1 load, 2 + one inference, 3 + several inferences. */
  readonly warmupLevel?: WarmupLevel;
  readonly warmup?: WarmupOptions;
  /** Default `initialize` timeout (config `asr.initTimeoutMs`; default 300000). */
  readonly initTimeoutMs?: number;
  /** How long a retry waits for a cancelled load to settle before going ahead anyway (default 10000). */
  readonly cancelGraceMs?: number;
  /** How long `unload` waits for in-flight requests before unloading anyway (default 10000). */
  readonly drainTimeoutMs?: number;
  /**
   * How long the model replaced by `switchModel` keeps serving its in-flight streams before it is unloaded
   * anyway (default: until they end, so a live stream loses nothing; memory holds both models meanwhile).
   */
  readonly switchDrainTimeoutMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** How one-shot decodes share each provider's engine (`asr.scheduler`). */
  readonly scheduler?: Partial<DecodeSchedulerSettings>;
  /** Ask `availability()` before loading and fail with its reason (default true). */
  readonly checkAvailability?: boolean;
  /** RSS of this process (injectable for tests; default `process.memoryUsage.rss()`). */
  readonly processRss?: () => number;
  /**
   * A model that ends in ERROR (failed load or warmup, a fatal error while READY) is retried by itself with capped
   * exponential backoff (default on: 1 s, doubling, at most 60 s) until READY or `unload()`.
   */
  readonly recovery?: RecoveryOptions;
}

export interface InitializeOptions {
  /** Give up after this long (default the manager's `initTimeoutMs`). The caller that starts the load also cancels it at its deadline. */
  readonly timeoutMs?: number;
}

export interface ModelStateChange {
  readonly from: ModelState;
  readonly to: ModelState;
  /** ISO time. */
  readonly at: string;
  readonly error?: ErrorRecord;
}

/** One stream's hold on the model serving when it started (see {@link ModelManager.lease}). */
export interface ModelLease {
  readonly provider: ASRProvider;
  /** Ends the hold (idempotent); a model replaced meanwhile is unloaded once its last lease ends. */
  release(): void;
}

export interface ModelSwitch {
  readonly from: string;
  readonly to: string;
  readonly at: string;
}

export interface ModelManagerEvents extends Record<string, unknown> {
  state: ModelStateChange;
  switch: ModelSwitch;
  error: ErrorRecord;
}

/** Thrown errors of these codes mean the engine is gone: the manager goes to ERROR. */
const FATAL_CODES = new Set(['WORKER_CRASHED', 'WORKER_START_FAILED', 'MODEL_CORRUPT', 'MODEL_NOT_FOUND']);

const UNLOAD_CANCEL = new EchoPanelError('ABORTED', 'loading was cancelled by unload()');

/**
 * Owns one provider's lifecycle: UNINITIALIZED → LOADING →
 * WARMING_UP → READY, ERROR from any working state, UNLOADING → UNINITIALIZED. Concurrent `initialize` calls
 * share one load; every waiter is released on success, error or timeout; a timed-out load is cancelled (the
 * provider is unloaded, again once the abandoned load settles). It is itself an {@link ASRProvider}, so it
 * composes with failover; inference while not READY fails with NOT_READY.
 */
export class ModelManager implements HostProvider {
  readonly [HOST_HEALTH] = true;
  private current: HostProvider;
  private stateValue: ModelState = 'UNINITIALIZED';
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly errors: ErrorHistory;
  private readonly listeners: Listeners<ModelManagerEvents>;
  private initializing?: Promise<void>;
  private initAbort?: AbortController;
  private unloading?: Promise<void>;
  private switching?: Promise<void>;
  private pendingCleanup?: Promise<void>;
  private readonly inflight = new Map<HostProvider, number>();
  /** Unloaded by {@link offload}: the next request loads the model again. */
  private parkedValue = false;
  private waking?: Promise<void>;
  private lastUsed: number;
  /** Models replaced by a switch that still serve their in-flight streams. */
  private readonly retired = new Set<HostProvider>();
  private readonly drainWaiters = new Map<HostProvider, (() => void)[]>();
  private loadMs?: number;
  private warmupMs?: number;
  private loadedAt?: string;
  private residentEstimate?: number;
  private warmupReport?: WarmupReport;
  private lastFailure?: EchoPanelError;
  private degradeSource?: { health(): DegradeHealth };
  private readonly backoff: RecoveryBackoff;

  constructor(private readonly options: ModelManagerOptions) {
    this.clock = options.clock ?? systemClock;
    this.lastUsed = this.clock.now();
    this.backoff = new RecoveryBackoff(options.recovery ?? {}, this.clock);
    this.logger = (options.logger ?? silentLogger).child({ component: 'model-manager' });
    this.current = measureProvider(options.provider, { logger: this.logger, ...(options.scheduler ? { scheduler: options.scheduler } : {}) });
    this.errors = new ErrorHistory(this.clock);
    this.listeners = new Listeners((err, event) => this.logger.error({ err: errorMessage(err), event }, 'model manager listener threw'));
  }

  get name(): string {
    return this.current.name;
  }

  get capabilities(): ProviderCapabilities {
    return this.current.capabilities;
  }

  get state(): ModelState {
    return this.stateValue;
  }

  /** The provider currently serving, as its plugin made it (changes on {@link switchModel}). */
  get provider(): ASRProvider {
    return this.current instanceof MeasuredProvider ? this.current.inner : this.current;
  }

  get ready(): boolean {
    return this.stateValue === 'READY';
  }

  /** Subscribes to `state`, `switch` or `error`; returns the unsubscribe function. */
  on<K extends keyof ModelManagerEvents>(event: K, listener: (payload: ModelManagerEvents[K]) => void): () => void {
    return this.listeners.on(event, listener);
  }

  availability(): Promise<Availability> {
    return this.current.availability();
  }

  /**
   * The provider contract's `load`: {@link initialize} with the default timeout, and from ERROR a
   * {@link retry} (as the contract says a later `load()` brings the model back; a failover probe relies on it).
   */
  load(): Promise<void> {
    return this.stateValue === 'ERROR' && !this.initializing ? this.retry() : this.initialize();
  }

  /**
   * Loads and warms the model. Resolves when READY (at once if already READY); rejects with the load or warmup
   * error, INIT_TIMEOUT, NOT_READY when the manager is in ERROR (use {@link retry}), or ABORTED when
   * {@link unload} cancels it.
   */
  async initialize(options: InitializeOptions = {}): Promise<void> {
    if (this.stateValue === 'READY') return;
    if (this.unloading) await this.unloading.catch(() => undefined);
    const state = this.stateValue as ModelState;
    if (state === 'ERROR') throw this.notReady();
    if (state === 'READY') return;
    const timeoutMs = options.timeoutMs ?? this.options.initTimeoutMs ?? 300000;
    if (this.initializing) return this.waitFor(this.initializing, timeoutMs);
    return this.startInit(timeoutMs);
  }

  /** From ERROR: loads again (now, instead of at the next scheduled recovery attempt). */
  async retry(options: InitializeOptions = {}): Promise<void> {
    if (this.stateValue !== 'ERROR') {
      throw new EchoPanelError('INVALID_STATE', `retry() is for a manager in ERROR; it is ${this.stateValue}`);
    }
    this.backoff.cancel();
    return this.startInit(options.timeoutMs ?? this.options.initTimeoutMs ?? 300000);
  }

  /** From ERROR: releases the provider and returns to UNINITIALIZED. */
  async reset(): Promise<void> {
    if (this.stateValue !== 'ERROR') {
      throw new EchoPanelError('INVALID_STATE', `reset() is for a manager in ERROR; it is ${this.stateValue}`);
    }
    return this.unload();
  }

  /**
   * Releases the model. Cancels a load in progress (its waiters get ABORTED), waits up to
   * `drainTimeoutMs` for in-flight requests, then calls the provider's `unload`.
   */
  unload(): Promise<void> {
    if (this.unloading) return this.unloading;
    if (this.stateValue === 'UNINITIALIZED' && !this.initializing) return Promise.resolve();
    this.unloading = this.runUnload().finally(() => {
      this.unloading = undefined;
    });
    return this.unloading;
  }

  /**
   * Hot swap: loads and warms `next` while the current model keeps serving, then routes new
   * requests to it (resolves here) and unloads the old one in the background once its in-flight requests
   * finish (at most `switchDrainTimeoutMs`). If `next` fails to load, the current model stays and the error is
   * thrown. When nothing is serving (not READY), replaces and loads.
   */
  async switchModel(next: ASRProvider | (() => ASRProvider | Promise<ASRProvider>), options: InitializeOptions = {}): Promise<void> {
    if (this.switching) throw new EchoPanelError('INVALID_STATE', 'a model switch is already in progress');
    const run = async () => {
      const provider = measureProvider(typeof next === 'function' ? await next() : next, { logger: this.logger, ...(this.options.scheduler ? { scheduler: this.options.scheduler } : {}) });
      if (provider === this.current) return this.stateValue === 'READY' ? undefined : this.load();
      if (this.stateValue !== 'READY') {
        if (this.stateValue === 'LOADING' || this.stateValue === 'WARMING_UP' || this.stateValue === 'UNLOADING') {
          throw new EchoPanelError('INVALID_STATE', `cannot switch models while ${this.stateValue}`);
        }
        if (this.stateValue === 'ERROR') await this.reset();
        const old = this.current;
        this.current = provider;
        this.listeners.emit('switch', { from: old.name, to: provider.name, at: this.now() });
        return this.initialize(options);
      }
      // The candidate is discarded if it fails: it must not retry on its own.
      const candidate = new ModelManager({ ...this.options, provider, logger: this.logger, recovery: { enabled: false } });
      try {
        await candidate.initialize(options);
      } catch (err) {
        this.recordError(err, 'switch');
        throw err;
      }
      // Re-read through the getter: the state may have changed while the candidate loaded.
      if (this.state !== 'READY') {
        await candidate.unload();
        throw new EchoPanelError('INVALID_STATE', `the manager left READY (${this.state}) during the switch; kept the old model`);
      }
      const old = this.current;
      this.current = provider;
      this.loadMs = candidate.loadMs;
      this.warmupMs = candidate.warmupMs;
      this.loadedAt = candidate.loadedAt;
      this.residentEstimate = candidate.residentEstimate;
      this.warmupReport = candidate.warmupReport;
      this.logger.info({ from: old.name, to: provider.name }, 'switched model');
      this.listeners.emit('switch', { from: old.name, to: provider.name, at: this.now() });
      // The old model finishes its in-flight requests in the background, then is released.
      this.retired.add(old);
      void this.drain(old, this.options.switchDrainTimeoutMs ?? Infinity)
        .then(() => (this.retired.has(old) ? old.unload() : undefined))
        .catch((err: unknown) => this.recordError(err, 'unload-old'))
        .finally(() => this.retired.delete(old));
    };
    this.switching = run().finally(() => {
      this.switching = undefined;
    });
    return this.switching;
  }

  /** Automatic recovery from ERROR: failures since READY, the next attempt's time, totals. */
  recoveryStatus(): RecoveryStatus {
    return this.backoff.status();
  }

  /** Includes a degrade ladder's level and history in {@link health} (e.g. `manager.attachDegrade(ladder)`). */
  attachDegrade(source: { health(): DegradeHealth } | undefined): void {
    this.degradeSource = source;
  }

  /** Marks the model broken (e.g. the host saw it crash): READY → ERROR. */
  fail(err: unknown): void {
    const e = toEchoPanelError(err, 'INFERENCE_FAILED');
    this.recordError(e, 'runtime');
    if (this.stateValue === 'READY') {
      this.lastFailure = e;
      this.scheduleRecovery(e);
      this.transition('ERROR', e);
    }
  }

  async *transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncGenerator<Segment> {
    const provider = this.acquire();
    try {
      yield* this.transcribeOn(provider, audio, opts);
    } finally {
      this.release(provider);
    }
  }

  /**
   * Pins the model serving now for one stream: the lease's provider keeps calling that model after a
   * {@link switchModel} (a live stream finishes on the model it started on), and the model counts as in flight
   * — a switch waits for it before unloading the old model — until `release()`. Throws NOT_READY when not READY.
   */
  lease(): ModelLease {
    const pinned = this.acquire();
    let open = true;
    const provider: ASRProvider = {
      name: pinned.name,
      capabilities: pinned.capabilities,
      availability: () => pinned.availability(),
      // The manager owns the model's lifecycle: a lease neither loads nor unloads it.
      load: () => Promise.resolve(),
      unload: () => Promise.resolve(),
      transcribe: (audio, opts) => this.transcribeOn(pinned, audio, opts),
      decode: (pcm, opts) => this.oneShotOn(pinned, 'decode', pcm, opts),
      decodeRecording: (pcm, opts) => this.oneShotOn(pinned, 'decodeRecording', pcm, opts),
      modelInfo: () => pinned.modelInfo?.(),
    };
    return {
      provider,
      release: () => {
        if (!open) return;
        open = false;
        this.release(pinned);
      },
    };
  }

  private async *transcribeOn(provider: HostProvider, audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncGenerator<Segment> {
    await this.awaken(provider);
    const onEvent = (e: TranscriptionEvent) => {
      if (e.type === 'error' && !e.recovered) this.recordError(new EchoPanelError(e.code, e.message), 'transcribe');
      opts.onEvent?.(e);
    };
    try {
      yield* provider.transcribe(audio, { ...opts, onEvent });
    } catch (err) {
      this.onInferenceThrow(provider, err, opts.signal);
      throw err;
    }
  }

  decode(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> {
    return this.oneShot('decode', pcm, opts);
  }

  decodeRecording(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> {
    return this.oneShot('decodeRecording', pcm, opts);
  }

  private async oneShot(method: 'decode' | 'decodeRecording', pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> {
    const provider = this.acquire();
    try {
      return await this.oneShotOn(provider, method, pcm, opts);
    } finally {
      this.release(provider);
    }
  }

  private async oneShotOn(provider: HostProvider, method: 'decode' | 'decodeRecording', pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> {
    try {
      await this.awaken(provider);
      const capable = method === 'decode' ? provider.capabilities.decode : provider.capabilities.recording;
      if (!capable || !provider[method]) {
        throw new EchoPanelError('INVALID_STATE', `provider ${provider.name} does not implement ${method}()`);
      }
      return await provider[method](pcm, opts);
    } catch (err) {
      this.onInferenceThrow(provider, err, opts.signal);
      throw err;
    }
  }

  modelInfo(): ModelIdentity | undefined {
    return this.current.modelInfo?.();
  }

  /** Forwards degrade-ladder tuning to the serving provider; returns what it applied (nothing if it cannot tune). */
  async tune(tuning: RuntimeTuning): Promise<RuntimeTuning> {
    return this.current.tune ? this.current.tune(tuning) : {};
  }

  /** The serving provider's settings in force (empty when it does not report them). */
  tuning(): RuntimeTuning {
    return this.current.tuning?.() ?? {};
  }

  async dispose(): Promise<void> {
    await this.unload();
    await this.current.dispose?.();
  }

  /** The host-measured health of the serving provider with the manager's state, timings, memory and error history. */
  health(): ProviderHealth {
    const base = this.current.health();
    const last = this.errors.last;
    const resident = base.memory.modelResidentBytes ?? (this.stateValue === 'READY' ? this.residentEstimate : undefined);
    return {
      ...base,
      provider: this.current.name,
      state: this.stateValue,
      modelResident: this.stateValue === 'READY' && base.modelResident !== false,
      ...(this.loadedAt ? { loadedAt: this.loadedAt } : {}),
      ...(this.loadMs !== undefined ? { loadMs: round1(this.loadMs) } : {}),
      ...(this.warmupMs !== undefined ? { warmupMs: round1(this.warmupMs) } : {}),
      ...(base.lastError ? {} : last ? { lastError: { code: last.code, message: last.message, at: last.at } } : {}),
      memory: {
        processRssBytes: this.processRss(),
        workerRssBytes: base.memory.workerRssBytes,
        ...(resident !== undefined ? { modelResidentBytes: resident } : {}),
      },
      errorHistory: this.errors.list(),
      ...(this.degradeSource ? { degrade: this.degradeSource.health() } : {}),
      ...(this.warmupReport ? { extra: { ...base.extra, warmup: this.warmupReport } } : {}),
    };
  }

  private startInit(timeoutMs: number): Promise<void> {
    this.parkedValue = false;
    const p = this.runInit(timeoutMs).finally(() => {
      if (this.initializing === p) this.initializing = undefined;
    });
    this.initializing = p;
    return p;
  }

  private async runInit(timeoutMs: number): Promise<void> {
    const provider = this.current;
    const ac = new AbortController();
    this.initAbort = ac;
    const timer = setTimeout(
      () => ac.abort(new EchoPanelError('INIT_TIMEOUT', `loading ${provider.name} took longer than ${timeoutMs} ms; the load was cancelled`)),
      timeoutMs,
    );
    // The load's own work keeps the process alive while it runs; its time limit alone must not (a process that is
    // done otherwise, e.g. a test run after a recovery attempt, would wait out the whole initTimeoutMs).
    timer.unref();
    const aborted = new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true }));
    aborted.catch(() => undefined);
    let phase = 'load';
    let loading: Promise<void> | undefined;
    let loadSettled = false;
    try {
      await Promise.race([this.settlePendingCleanup(), aborted]);
      this.transition('LOADING');
      this.logger.info({ provider: provider.name }, 'loading model');
      if (this.options.checkAvailability !== false) {
        // Fail with the provider's own reason and fix (not a bare "provider not available") rather than
        // whatever its load() would throw.
        const a = await Promise.race([provider.availability(), aborted]);
        if (!a.available) {
          throw new EchoPanelError(a.code ?? 'PROVIDER_UNAVAILABLE', `provider ${provider.name} is not available: ${a.reason ?? 'no reason given'}${a.hint ? ` (${a.hint})` : ''}`);
        }
      }
      const rssBefore = this.totalRss(provider);
      const t0 = this.clock.now();
      loading = provider.load();
      loading.then(
        () => (loadSettled = true),
        () => (loadSettled = true),
      );
      await Promise.race([loading, aborted]);
      this.loadMs = this.clock.now() - t0;
      this.loadedAt = this.now();
      const delta = this.totalRss(provider) - rssBefore;
      this.residentEstimate = delta > 0 ? delta : provider.modelInfo?.()?.sizeBytes;
      phase = 'warmup';
      this.transition('WARMING_UP');
      const level = this.options.warmupLevel ?? 2;
      const t1 = this.clock.now();
      this.warmupReport = await runWarmup(provider, level, { clock: this.clock, signal: ac.signal, options: this.options.warmup });
      this.warmupMs = this.clock.now() - t1;
      for (const l of this.warmupReport.levels) {
        if (l.exceeded) {
          this.recordError(new EchoPanelError('WARMUP_BUDGET_EXCEEDED', `warmup level ${l.level} ran past its ${l.budgetMs} ms budget`), 'warmup');
        }
      }
      if (ac.signal.aborted) throw ac.signal.reason;
      this.transition('READY');
      this.backoff.reset();
      this.logger.info({ provider: provider.name, loadMs: round1(this.loadMs), warmupMs: round1(this.warmupMs) }, 'model ready');
    } catch (err) {
      const cancelled = ac.signal.aborted && ac.signal.reason === UNLOAD_CANCEL;
      const e = cancelled ? UNLOAD_CANCEL : toEchoPanelError(err, phase === 'load' ? 'PROVIDER_UNAVAILABLE' : 'INFERENCE_FAILED');
      // Release what the provider holds: now (unless unload() is about to), and again once an abandoned load settles.
      this.pendingCleanup = this.cleanup(provider, loading && !loadSettled ? loading : undefined, !cancelled);
      if (!cancelled) {
        this.lastFailure = e;
        this.recordError(e, phase);
        this.logger.error({ provider: provider.name, code: e.code, err: e.message, phase }, 'model initialization failed');
        if (this.stateValue === 'LOADING' || this.stateValue === 'WARMING_UP') {
          this.scheduleRecovery(e);
          this.transition('ERROR', e);
        }
      }
      throw e;
    } finally {
      clearTimeout(timer);
      if (this.initAbort === ac) this.initAbort = undefined;
    }
  }

  private async runUnload(): Promise<void> {
    this.parkedValue = false;
    this.backoff.cancel();
    if (this.initializing) {
      this.initAbort?.abort(UNLOAD_CANCEL);
      await this.initializing.catch(() => undefined);
    }
    // Replaced models still serving old streams go too (bounded by drainTimeoutMs, as for the current one).
    for (const old of [...this.retired]) {
      await this.drain(old);
      this.retired.delete(old);
      await old.unload().catch((err: unknown) => this.recordError(err, 'unload-old'));
    }
    if (this.stateValue === 'UNINITIALIZED') return;
    this.transition('UNLOADING');
    const provider = this.current;
    await this.drain(provider);
    try {
      await provider.unload();
      await this.settlePendingCleanup();
    } catch (err) {
      const e = toEchoPanelError(err, 'INTERNAL');
      this.lastFailure = e;
      this.recordError(e, 'unload');
      this.transition('ERROR', e);
      throw e;
    }
    this.loadedAt = undefined;
    this.residentEstimate = undefined;
    this.lastFailure = undefined;
    this.transition('UNINITIALIZED');
    this.logger.info({ provider: provider.name }, 'model unloaded');
  }

  private async cleanup(provider: HostProvider, abandoned: Promise<void> | undefined, now: boolean): Promise<void> {
    const quietUnload = () =>
      provider.unload().catch((err: unknown) => this.logger.warn({ err: errorMessage(err) }, 'unload after a failed load failed'));
    if (now) await quietUnload();
    if (abandoned) {
      await abandoned.then(quietUnload, quietUnload);
    }
  }

  private async settlePendingCleanup(): Promise<void> {
    const pending = this.pendingCleanup;
    if (!pending) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'grace'>((resolve) => {
      timer = setTimeout(() => resolve('grace'), this.options.cancelGraceMs ?? 10000);
    });
    const outcome = await Promise.race([pending.then(() => 'done' as const), grace]);
    clearTimeout(timer);
    if (outcome === 'grace') this.logger.warn({}, 'a cancelled load has not settled; going ahead');
    if (this.pendingCleanup === pending) this.pendingCleanup = undefined;
  }

  private waitFor(p: Promise<void>, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EchoPanelError('INIT_TIMEOUT', `gave up waiting for ${this.current.name} after ${timeoutMs} ms (another caller's load continues)`)),
        timeoutMs,
      );
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  private transition(to: ModelState, error?: EchoPanelError): void {
    const from = this.stateValue;
    assertTransition(from, to);
    this.stateValue = to;
    const rec = error ? this.errors.last : undefined;
    this.listeners.emit('state', { from, to, at: this.now(), ...(rec ? { error: rec } : {}) });
  }

  private acquire(): HostProvider {
    if (this.stateValue !== 'READY' && !this.parkedValue && !this.waking) throw this.notReady();
    const provider = this.current;
    this.inflight.set(provider, (this.inflight.get(provider) ?? 0) + 1);
    this.lastUsed = this.clock.now();
    return provider;
  }

  /**
   * Unloads the model to free its memory, as {@link unload}, but the next request (or lease's call) loads it
   * again and waits for it (idle unload, `DELETE /v1/models/{id}`). Resolves once unloaded.
   */
  async offload(): Promise<void> {
    await this.unload();
    this.parkedValue = true;
  }

  /** Unloaded by {@link offload} and not yet asked for again. */
  get parked(): boolean {
    return this.parkedValue;
  }

  /** Milliseconds since a request or stream last started or ended on this manager. */
  idleMs(): number {
    return this.inFlight > 0 ? 0 : this.clock.now() - this.lastUsed;
  }

  /** A parked model is loaded again by the first call that needs it; concurrent calls share the load. */
  private async awaken(provider: HostProvider): Promise<void> {
    if (provider !== this.current) return;
    if (this.parkedValue) {
      this.parkedValue = false;
      this.logger.info({ provider: provider.name }, 'loading the unloaded model again for a request');
      this.waking = this.initialize().finally(() => (this.waking = undefined));
    }
    if (this.waking) await this.waking;
  }

  private release(provider: HostProvider): void {
    this.lastUsed = this.clock.now();
    const n = (this.inflight.get(provider) ?? 1) - 1;
    if (n > 0) {
      this.inflight.set(provider, n);
      return;
    }
    this.inflight.delete(provider);
    for (const w of this.drainWaiters.get(provider) ?? []) w();
    this.drainWaiters.delete(provider);
  }

  /** In-flight requests on this manager (all providers). */
  get inFlight(): number {
    let n = 0;
    for (const v of this.inflight.values()) n += v;
    return n;
  }

  private drain(provider: HostProvider, timeoutMs = this.options.drainTimeoutMs ?? 10000): Promise<void> {
    if (!this.inflight.get(provider)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            this.logger.warn({ provider: provider.name, inflight: this.inflight.get(provider) }, 'in-flight requests did not finish; unloading anyway');
            resolve();
          }, timeoutMs)
        : undefined;
      const list = this.drainWaiters.get(provider) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.drainWaiters.set(provider, list);
    });
  }

  private onInferenceThrow(provider: HostProvider, err: unknown, signal?: AbortSignal): void {
    if (signal?.aborted || (isEchoPanelError(err) && err.code === 'ABORTED')) return;
    this.recordError(err, 'inference');
    if (isEchoPanelError(err) && FATAL_CODES.has(err.code) && provider === this.current && this.stateValue === 'READY') {
      this.lastFailure = err;
      this.scheduleRecovery(err);
      this.transition('ERROR', err);
    }
  }

  /** Called just before the move to ERROR, so `state` listeners already see the next attempt. */
  private scheduleRecovery(cause: EchoPanelError): void {
    if (this.unloading) return;
    const delayMs = this.backoff.schedule(() => {
      if (this.stateValue !== 'ERROR' || this.initializing || this.unloading) return;
      const attempt = this.backoff.status().consecutiveFailures;
      this.logger.info({ provider: this.current.name, attempt }, 'retrying the model after an error');
      this.startInit(this.options.initTimeoutMs ?? 300000).then(
        () => {
          this.backoff.recovered();
          this.logger.info({ provider: this.current.name, attempt }, 'model recovered');
        },
        // runInit logged it and scheduled the next attempt.
        () => undefined,
      );
    });
    if (delayMs !== undefined) {
      this.logger.info({ provider: this.current.name, code: cause.code, delayMs, nextAttemptAt: this.backoff.status().nextAttemptAt }, 'model in ERROR; retrying');
    }
  }

  private notReady(): EchoPanelError {
    const next = this.backoff.status().nextAttemptAt;
    const why =
      this.stateValue === 'ERROR' && this.lastFailure
        ? `: ${this.lastFailure.code}: ${this.lastFailure.message}; ${next ? `next automatic retry at ${next}` : 'call retry()'}`
        : '';
    return new EchoPanelError('NOT_READY', `model ${this.current.name} is ${this.stateValue}${why}`, {
      details: { state: this.stateValue, ...(this.lastFailure ? { cause: this.lastFailure.code } : {}) },
    });
  }

  private recordError(err: unknown, phase: string): void {
    const rec = this.errors.record(err, phase);
    this.listeners.emit('error', rec);
  }

  private totalRss(provider: HostProvider): number {
    return this.processRss() + provider.health().memory.workerRssBytes;
  }

  private processRss(): number {
    return this.options.processRss ? this.options.processRss() : process.memoryUsage.rss();
  }

  private now(): string {
    return this.clock.date().toISOString();
  }
}

function toEchoPanelError(err: unknown, code: string): EchoPanelError {
  if (isEchoPanelError(err)) return err;
  return new EchoPanelError(code, errorMessage(err), { cause: err });
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
