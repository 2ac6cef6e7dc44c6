import {
  DegradeLadder,
  DropPolicy,
  EchoPanelError,
  FailoverProvider,
  ModelManager,
  autoSelect,
  bindFailoverToLadder,
  createProviderDegradeActions,
  errorMessage,
  isEchoPanelError,
  silentLogger,
  type ASRProvider,
  type EchoPanelRuntime,
  type Logger,
  type ModelLease,
  type ModelState,
  type PipelineLoadControl,
  type ProviderHealth,
  type ResolvedConfig,
  SessionCounter,
  type VadEngine,
  type VoiceActivityDetector,
} from '@echopanel/core';

/** The `/health` view of the engine. */
export interface Readiness {
  readonly status: 'ok' | 'loading' | 'error';
  readonly provider: string;
  readonly model: string;
  readonly model_state: ModelState;
  readonly load_time_ms?: number;
  readonly warmup_time_ms?: number;
  readonly reason?: string;
  /** In ERROR: when the model is next retried by itself (ISO). */
  readonly next_retry_at?: string;
  /** The model was unloaded (idle, or `DELETE /v1/models/{id}`): the server still serves, the next request loads it. */
  readonly unloaded?: boolean;
}

export interface EngineHostOptions {
  readonly runtime: EchoPanelRuntime;
  readonly logger?: Logger;
}

/** How the provider was chosen (shown in `/capabilities`). */
export interface ProviderSelection {
  readonly provider: string;
  /** Model slice override from the recommendation (auto only). */
  readonly model?: string;
  readonly fallback?: string;
  readonly configured: string;
  readonly reason: string;
  /** The capability detection's recommendation (auto only). */
  readonly recommendation?: unknown;
  readonly profile?: unknown;
}

/**
 * The server's engine: the selected provider behind a {@link ModelManager} (initialized in the background so
 * `/health` can answer while it loads), the VAD engine for segmentation, and the sample accounting of all
 * streams.
 */
export class EngineHost {
  readonly sessionCounter = new SessionCounter();
  readonly manager: ModelManager;
  readonly selection: ProviderSelection;
  private readonly runtime: EchoPanelRuntime;
  private readonly logger: Logger;
  private vad?: VadEngine;
  private vadProblem?: string;
  private initPromise?: Promise<void>;
  private initError?: EchoPanelError;
  /** The degrade ladder watching the engine's RTF. */
  readonly ladder: DegradeLadder;
  private readonly pair?: FailoverProvider;
  private readonly dropPolicy = new DropPolicy();
  private vadOn = true;
  private degradeDropped = 0;
  private autoSelection?: Promise<Record<string, unknown>>;
  private readonly streamBacklogs = new Map<object, number>();
  private readonly statusListeners = new Set<() => void>();
  private closed = false;

  private constructor(runtime: EchoPanelRuntime, provider: ASRProvider, selection: ProviderSelection, logger: Logger, pair?: FailoverProvider) {
    this.runtime = runtime;
    this.logger = logger;
    this.selection = selection;
    this.pair = pair;
    const asr = runtime.config.asr;
    this.manager = new ModelManager({
      provider,
      warmupLevel: asr.warmupLevel,
      initTimeoutMs: asr.initTimeoutMs,
      recovery: asr.recovery,
      switchDrainTimeoutMs: runtime.config.server.reload.drainTimeoutMs,
      scheduler: asr.scheduler,
      logger,
    });
    this.manager.on('state', (change) => {
      this.logger.info({ from: change.from, to: change.to }, 'model state');
      if (change.to === 'READY') this.ladder.start(1000);
      else this.ladder.stop();
      for (const l of this.statusListeners) l();
    });
    const model = runtime.config.providers[selection.provider]?.model;
    this.ladder = new DegradeLadder({
      settings: asr.degrade,
      // Chunk length, beam and model come from the provider's own settings (manager.tuning()): asr.chunkSeconds
      // is the pipeline's fixed segmentation, not the provider's chunking.
      baseline: {
        vadEnabled: runtime.config.vad.enabled,
        ...(selection.model ? { model: selection.model } : typeof model === 'string' ? { model } : {}),
      },
      actions: createProviderDegradeActions({
        provider: this.manager,
        // Streams consult the policy per segment/chunk and count what they drop (see loadControl).
        dropPolicy: this.dropPolicy,
        setVadEnabled: (on) => {
          this.vadOn = on;
        },
        ...(pair ? { failover: pair } : {}),
      }),
      // Host-measured around every call into the provider; it only means something once the engine has worked.
      // Streams sharing the engine load it more than any one call's RTF shows: the scheduler's load counts them all.
      rtfSource: () => {
        const h = this.providerHealth();
        return h && (h.inferences > 0 || h.rtf > 0) ? Math.max(h.rtf, h.scheduler?.load ?? 0) : undefined;
      },
      droppedSamples: () => this.degradeDropped,
      logger,
    });
    if (pair) bindFailoverToLadder(this.ladder, pair);
    this.ladder.on('level', (change) => {
      this.logger.warn({ from: change.from, to: change.to, reason: change.reason }, 'degrade level changed');
      for (const l of this.statusListeners) l();
    });
  }

  /** Selects and creates the provider (not loading it yet). Throws when the selected provider cannot be created. */
  static async create(options: EngineHostOptions): Promise<EngineHost> {
    const { runtime } = options;
    const logger = (options.logger ?? runtime.logger ?? silentLogger).child({ component: 'engine' });
    const selection = await selectProvider(runtime, logger);
    const slice = selection.model ? { ...(runtime.config.providers[selection.provider] ?? {}), model: selection.model } : undefined;
    const primary = await runtime.providers.create(selection.provider, slice);
    let pair: FailoverProvider | undefined;
    if (selection.fallback) {
      try {
        const fallback = await runtime.providers.create(selection.fallback);
        const av = await fallback.availability();
        if (!av.available) throw new EchoPanelError('PROVIDER_UNAVAILABLE', av.reason ?? 'unavailable');
        pair = new FailoverProvider({
          primary,
          fallback,
          errorsBeforeFailover: runtime.config.asr.degrade.errorsBeforeFailover,
          scheduler: runtime.config.asr.scheduler,
          logger,
        });
      } catch (err) {
        logger.warn({ fallback: selection.fallback, err: errorMessage(err) }, 'fallback provider unusable; running without failover');
      }
    }
    logger.info({ provider: selection.provider, fallback: pair ? selection.fallback : undefined, reason: selection.reason }, 'provider selected');
    return new EngineHost(runtime, pair ?? primary, selection, logger, pair);
  }

  get asrConfig(): ResolvedConfig['asr'] {
    return this.runtime.config.asr;
  }

  get providerName(): string {
    return this.manager.name;
  }

  get modelName(): string {
    return this.manager.modelInfo()?.name ?? this.manager.name;
  }

  /** Starts loading the model and the VAD in the background; the promise settles when both are done. */
  start(): Promise<void> {
    this.initPromise ??= (async () => {
      const vad = this.loadVad();
      try {
        await this.manager.initialize();
      } catch (err) {
        this.initError = isEchoPanelError(err) ? err : new EchoPanelError('PROVIDER_UNAVAILABLE', errorMessage(err), { cause: err });
        this.logger.error({ code: this.initError.code, err: this.initError.message }, 'model failed to initialize');
      }
      await vad;
    })();
    return this.initPromise;
  }

  readiness(): Readiness {
    const h = this.manager.health();
    const base = { provider: this.providerName, model: this.modelName, model_state: h.state };
    if (h.state === 'READY') {
      return { status: 'ok', ...base, load_time_ms: h.loadMs ?? 0, warmup_time_ms: h.warmupMs ?? 0 };
    }
    if (this.manager.parked) {
      return { status: 'ok', ...base, unloaded: true, reason: 'the model is unloaded to free memory; the next request loads it again' };
    }
    const last = h.lastError ? `: ${h.lastError.code}: ${h.lastError.message}` : '';
    const next = h.state === 'ERROR' ? this.manager.recoveryStatus().nextAttemptAt : undefined;
    return {
      status: h.state === 'ERROR' ? 'error' : 'loading',
      ...base,
      reason: `model ${h.state.toLowerCase()}${h.state === 'ERROR' ? last : ''}${next ? `; retrying at ${next}` : ''}`,
      ...(next ? { next_retry_at: next } : {}),
      ...(h.loadMs !== undefined ? { load_time_ms: h.loadMs } : {}),
    };
  }

  /** The provider to stream through, when the model is READY (or unloaded to be loaded again on use). */
  readyProvider(): ASRProvider | undefined {
    return !this.closed && (this.manager.state === 'READY' || this.manager.parked) ? this.manager : undefined;
  }

  /** For one stream: the model serving now, kept by the stream until `release()` even if a reload replaces it. */
  leaseProvider(): ModelLease | undefined {
    return this.readyProvider() ? this.manager.lease() : undefined;
  }

  /** Like {@link leaseProvider} but throws NOT_READY with the reason. */
  requireLease(): ModelLease {
    this.requireProvider();
    return this.manager.lease();
  }

  /** Like {@link readyProvider} but throws NOT_READY with the reason. */
  requireProvider(): ASRProvider {
    const p = this.readyProvider();
    if (p) return p;
    const r = this.readiness();
    throw new EchoPanelError('NOT_READY', `the model is not ready (${r.model_state}${r.reason ? `: ${r.reason}` : ''}); retry when /health answers 200`);
  }

  /**
   * After {@link start} settled: the root cause when the model failed to initialize (MODEL_CORRUPT,
   * PROVIDER_UNAVAILABLE, …), for hosts that report it themselves instead of answering NOT_READY.
   */
  initFailure(): EchoPanelError | undefined {
    return this.manager.state === 'READY' ? undefined : this.initError;
  }

  /** A detector for one stream, when VAD segmentation is on and the VAD loaded (`threshold`: the client's own). */
  createDetector(options: { threshold?: number } = {}): VoiceActivityDetector | undefined {
    if (!this.vad || !this.runtime.config.vad.enabled || !this.vadOn) return undefined;
    try {
      return this.vad.createDetector({ sampleRate: 16000, ...(options.threshold !== undefined ? { threshold: options.threshold } : {}) });
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'VAD detector could not be created; streaming without VAD');
      return undefined;
    }
  }

  /** Why VAD segmentation is off, if it is. */
  vadStatus(): { enabled: boolean; provider: string; loaded: boolean; reason?: string } {
    const cfg = this.runtime.config.vad;
    return { enabled: cfg.enabled, provider: cfg.provider, loaded: !!this.vad, ...(this.vadProblem ? { reason: this.vadProblem } : {}) };
  }

  /** Back-pressure hooks for one stream. */
  loadControl(): PipelineLoadControl {
    const key = {};
    let decisions = 0;
    return {
      reportBacklog: (seconds) => {
        if (seconds > 0) this.streamBacklogs.set(key, seconds);
        else this.streamBacklogs.delete(key);
      },
      // EMERGENCY drops every other chunk of each stream.
      shouldDropChunk: (samples) => {
        if (!this.dropPolicy.enabled) return false;
        if (decisions++ % 2 === 0) return false;
        this.degradeDropped += samples;
        return true;
      },
    };
  }

  streamBacklogSeconds(): number {
    let s = 0;
    for (const v of this.streamBacklogs.values()) s += v;
    return s;
  }

  degradeLevel(): string {
    return this.ladder.level;
  }

  rtf(): number {
    return this.providerHealth()?.rtf ?? 0;
  }

  /** Called when the degrade level changes. */
  onStatusChange(listener: () => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  providerHealth(): ProviderHealth | undefined {
    try {
      return this.manager.health();
    } catch {
      return undefined;
    }
  }

  /** `/model-status`: the manager's health and the stream accounting. */
  modelStatus(): Record<string, unknown> {
    const health = this.manager.health();
    return {
      status: health.state === 'READY' ? 'ok' : health.state === 'ERROR' ? 'error' : 'loading',
      provider: this.providerName,
      model: this.manager.modelInfo() ?? { name: this.modelName },
      health: { ...health, degrade: this.ladder.health() },
      recovery: this.manager.recoveryStatus(),
      streams: this.sessionCounter.snapshot(),
      vad: this.vadStatus(),
    };
  }

  /** `/capabilities`: the selection, every provider with its availability, the active model. */
  async capabilities(): Promise<Record<string, unknown>> {
    const providers = await Promise.all(
      this.runtime.providers.list().map(async (p) => {
        let availability: { available: boolean; reason?: string; hint?: string };
        try {
          const instance = p.name === this.selection.provider ? this.manager : await this.runtime.providers.create(p.name);
          availability = await instance.availability();
          return { name: p.name, package: p.origin.packageName, version: p.origin.version ?? p.plugin.version, ...availability, capabilities: instance.capabilities };
        } catch (err) {
          availability = { available: false, reason: errorMessage(err) };
        }
        return { name: p.name, package: p.origin.packageName, version: p.origin.version ?? p.plugin.version, ...availability };
      }),
    );
    // Profile and recommendation even when the provider is configured (what `auto` would pick here), cached.
    this.autoSelection ??= this.selection.recommendation
      ? Promise.resolve({ profile: this.selection.profile, recommendation: this.selection.recommendation })
      : autoSelect(this.runtime).then(
          (a): Record<string, unknown> => ({ profile: a.profile, recommendation: a.recommendation ?? null, ...(a.error ? { recommendationError: a.error } : {}) }),
          (err: unknown) => ({ recommendationError: errorMessage(err) }),
        );
    const { recommendation: _r, profile: _p, ...selection } = this.selection;
    return {
      selection,
      ...(await this.autoSelection),
      active: {
        provider: this.providerName,
        model: this.manager.modelInfo() ?? { name: this.modelName },
        state: this.manager.state,
        ...(this.pair ? { failover: this.pair.health().failover } : {}),
      },
      segmentation: this.runtime.config.asr.segmentation,
      vad: this.vadStatus(),
      degrade: this.ladder.health(),
      providers,
      failures: this.runtime.failureReport(),
    };
  }

  /** Unloads the model and the VAD. */
  async close(): Promise<void> {
    this.closed = true;
    this.ladder.stop();
    try {
      await this.manager.unload();
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'model unload failed');
    }
    await this.vad?.unload().catch((err: unknown) => this.logger.warn({ err: errorMessage(err) }, 'VAD unload failed'));
  }

  private async loadVad(): Promise<void> {
    const cfg = this.runtime.config;
    if (!cfg.vad.enabled || cfg.asr.segmentation !== 'vad') {
      this.vadProblem = !cfg.vad.enabled ? 'vad.enabled is false' : `asr.segmentation is ${cfg.asr.segmentation}`;
      return;
    }
    if (!this.manager.capabilities.decode) {
      this.vadProblem = `provider ${this.providerName} does not decode utterances; it segments on its own`;
      return;
    }
    try {
      const vad = await this.runtime.vads.create(cfg.vad.provider);
      const av = await vad.availability();
      if (!av.available) throw new EchoPanelError('PROVIDER_UNAVAILABLE', av.reason ?? 'unavailable');
      await vad.load();
      this.vad = vad;
    } catch (err) {
      this.vadProblem = `VAD ${cfg.vad.provider} unavailable (${errorMessage(err)}); using fixed chunks`;
      this.logger.warn({ err: errorMessage(err) }, this.vadProblem);
    }
  }
}

/** The configured provider, or for `auto` the capability detection's recommendation. */
export async function selectProvider(runtime: EchoPanelRuntime, logger: Logger): Promise<ProviderSelection> {
  const configured = runtime.config.asr.provider;
  const fallback = runtime.config.asr.fallback;
  if (configured !== 'auto') {
    if (!runtime.providers.has(configured)) {
      const failure = runtime.failures.find((f) => f.mapName === configured);
      if (failure) throw failure.error;
      throw new EchoPanelError(
        'PROVIDER_NOT_FOUND',
        `asr.provider is '${configured}', which is not in the import map (${Object.keys(runtime.importMap).join(', ')}); name an installed provider, or add its package under \`plugins\``,
      );
    }
    return { provider: configured, configured, reason: 'configured in asr.provider', ...(fallback && fallback !== configured ? { fallback } : {}) };
  }
  const auto = await autoSelect(runtime);
  const rec = auto.recommendation;
  if (!rec) {
    logger.error({ providers: auto.providers }, 'no provider available');
    throw new EchoPanelError(auto.error?.code ?? 'PROVIDER_UNAVAILABLE', `asr.provider is auto and nothing is usable here: ${auto.error?.message ?? 'no provider available'}`);
  }
  const configuredModel = runtime.config.providers[rec.provider]?.model;
  const fb = fallback ?? rec.fallback?.provider;
  return {
    provider: rec.provider,
    ...(rec.model && rec.model !== configuredModel ? { model: rec.model } : {}),
    ...(fb && fb !== rec.provider ? { fallback: fb } : {}),
    configured,
    reason: `auto (${rec.tier}): ${rec.reasons.join('; ')}`,
    recommendation: rec,
    profile: auto.profile,
  };
}
