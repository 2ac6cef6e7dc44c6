import {
  EchoPanelError,
  errorMessage,
  isEchoPanelError,
  silentLogger,
  watchConfig,
  type ConfigWatcher,
  type EchoPanelRuntime,
  type Logger,
  type ResolvedConfig,
} from '@echopanel/core';
import { selectProvider, type EngineHost } from '../engine-host.js';
import { changedPaths, isUnder, restartReason } from './config-diff.js';

/** What one reload did. */
export interface ReloadReport {
  /** ISO time the reload started. */
  readonly at: string;
  /** `SIGHUP`, `api`, or `watch: <file>`. */
  readonly trigger: string;
  /**
   * `applied`: the new config is in force (except `restartRequired`); `unchanged`: nothing differs;
   * `rejected`: the new config is invalid, the running one stays; `failed`: the new model could not be loaded,
   * the running one stays.
   */
  readonly result: 'applied' | 'unchanged' | 'rejected' | 'failed';
  readonly durationMs: number;
  /** Config revision in force after this reload (1 = the config the server started with). */
  readonly revision: number;
  /** Dotted paths that differ from the config in force before. */
  readonly changed: readonly string[];
  /** Changed paths in force now. */
  readonly applied: readonly string[];
  /** Paths that differ from the config the server started with and take effect only at a restart. */
  readonly restartRequired: readonly { readonly path: string; readonly reason: string }[];
  /** The model change this reload made. */
  readonly model?: { readonly from: string; readonly to: string; readonly loadMs?: number; readonly warmupMs?: number };
  readonly error?: { readonly code: string; readonly message: string; readonly file?: string };
}

export interface ConfigReloaderOptions {
  readonly engine: EngineHost;
  /** The runtime the server started with. */
  readonly runtime: EchoPanelRuntime;
  /** Loads the config file again into a fresh runtime (the way the server's own runtime was loaded). */
  readonly loadRuntime?: () => Promise<EchoPanelRuntime>;
  /** Refuses (INSUFFICIENT_MEMORY) a model that would not fit beside the serving one. */
  readonly checkMemory?: (provider: string, model: string) => Promise<void>;
  readonly logger?: Logger;
}

/**
 * Hot reload of the config while serving: loads and validates the file again, then applies the difference. A
 * changed provider or model is loaded and warmed beside the serving one ({@link ModelManager.switchModel}): new
 * streams and requests go to it once READY, live streams finish on the old one (`server.reload.drainTimeoutMs`),
 * then the old one unloads. What the server reads only at start (the listener, limits, VAD, …) is reported as
 * needing a restart. An invalid config or a model that fails to load leaves the running config as it was.
 */
export class ConfigReloader {
  private readonly engine: EngineHost;
  private readonly startConfig: ResolvedConfig;
  private readonly logger: Logger;
  private readonly file?: string;
  /** The last accepted config and the engine settings in force. */
  private accepted: ResolvedConfig;
  private engineKey: string;
  private revision = 1;
  private last?: ReloadReport;
  private queue: Promise<unknown> = Promise.resolve();
  private watcher?: ConfigWatcher;
  /** Runtimes loaded by reloads whose providers may still serve (disposed at close). */
  private readonly runtimes: EchoPanelRuntime[] = [];
  private closed = false;

  constructor(private readonly options: ConfigReloaderOptions) {
    this.engine = options.engine;
    this.startConfig = options.runtime.config;
    this.accepted = options.runtime.config;
    this.file = options.runtime.configFile;
    this.logger = (options.logger ?? silentLogger).child({ component: 'config-reload' });
    this.engineKey = engineKey(this.accepted, this.engine.selection.provider, this.engine.selection.model);
  }

  /** Watches the config file and what it imports (`server.reload.watch`). */
  async watch(): Promise<void> {
    if (!this.file || !this.options.loadRuntime || !this.startConfig.server.reload.watch) return;
    this.watcher = await watchConfig(this.file, {
      logger: this.logger,
      onChange: (file) => void this.reload(`watch: ${file}`),
    });
    this.logger.info({ files: this.watcher.files() }, 'watching the config for changes');
  }

  /** Reloads now; reloads run one after another. Never throws: the report says what happened. */
  reload(trigger: string): Promise<ReloadReport> {
    const run = this.queue.then(() => this.run(trigger));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** For `/model-status`. */
  status(): Record<string, unknown> {
    return {
      file: this.file ?? null,
      revision: this.revision,
      watching: this.watcher?.files() ?? [],
      pendingRestart: this.restartRequired(this.accepted),
      ...(this.last ? { lastReload: this.last } : {}),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    await this.queue;
    await Promise.all(this.runtimes.map((r) => r.dispose().catch((err: unknown) => this.logger.warn({ err: errorMessage(err) }, 'runtime dispose failed'))));
  }

  private async run(trigger: string): Promise<ReloadReport> {
    const started = Date.now();
    const at = new Date(started).toISOString();
    const report = (r: Omit<ReloadReport, 'at' | 'trigger' | 'durationMs' | 'revision'>): ReloadReport => {
      this.last = { at, trigger, ...r, durationMs: Date.now() - started, revision: this.revision };
      return this.last;
    };
    if (this.closed || !this.options.loadRuntime) {
      const error = { code: 'NOT_SUPPORTED', message: this.closed ? 'the server is shutting down' : 'this server was started without a config loader; restart it to change the config' };
      return report({ result: 'failed', changed: [], applied: [], restartRequired: [], error });
    }
    let next: EchoPanelRuntime;
    try {
      next = await this.options.loadRuntime();
    } catch (err) {
      const e = isEchoPanelError(err) ? err : new EchoPanelError('INVALID_CONFIG', errorMessage(err), { cause: err });
      this.logger.error({ file: this.file, code: e.code, err: e.message, trigger }, `config reload rejected: ${this.file ?? 'config'}: ${e.message}; the running config stays`);
      return report({ result: 'rejected', changed: [], applied: [], restartRequired: this.restartRequired(this.accepted), error: { code: e.code, message: e.message, ...(this.file ? { file: this.file } : {}) } });
    }
    await this.watcher?.refresh();
    const changed = changedPaths(this.accepted, next.config);
    if (changed.length === 0) {
      await next.dispose();
      this.logger.info({ trigger }, 'config reloaded: nothing changed');
      return report({ result: 'unchanged', changed, applied: [], restartRequired: this.restartRequired(this.accepted) });
    }
    try {
      const model = await this.applyEngine(next);
      const restartRequired = this.restartRequired(next.config);
      const applied = changed.filter((p) => !restartRequired.some((r) => r.path === p));
      this.accepted = next.config;
      this.revision++;
      const r = report({ result: 'applied', changed, applied, restartRequired, ...(model ? { model } : {}) });
      this.logger.info({ trigger, revision: this.revision, applied, restartRequired, model }, 'config reloaded');
      for (const x of restartRequired) this.logger.warn({ path: x.path }, `config change not applied: ${x.path}: ${x.reason}`);
      return r;
    } catch (err) {
      await next.dispose().catch(() => undefined);
      const e = isEchoPanelError(err) ? err : new EchoPanelError('PROVIDER_UNAVAILABLE', errorMessage(err), { cause: err });
      this.logger.error({ trigger, code: e.code, err: e.message }, `config reload failed: ${e.message}; the running config and model stay`);
      return report({ result: 'failed', changed, applied: [], restartRequired: this.restartRequired(this.accepted), error: { code: e.code, message: e.message } });
    }
  }

  /** Switches the model when the new config's provider or its settings differ from those serving. */
  private async applyEngine(next: EchoPanelRuntime): Promise<ReloadReport['model']> {
    if (this.pairBlocksSwitch()) {
      await next.dispose();
      return undefined;
    }
    const selection = await selectProvider(next, this.logger);
    const key = engineKey(next.config, selection.provider, selection.model);
    if (key === this.engineKey) {
      await next.dispose();
      return undefined;
    }
    const slice = selection.model ? { ...(next.config.providers[selection.provider] ?? {}), model: selection.model } : undefined;
    const model = selection.model ?? next.config.providers[selection.provider]?.model;
    if (typeof model === 'string') await this.options.checkMemory?.(selection.provider, model);
    const provider = await next.providers.create(selection.provider, slice);
    const from = modelLabel(this.engine);
    this.logger.info({ from, to: selection.provider }, 'loading the new model beside the serving one');
    await this.engine.manager.switchModel(provider);
    this.engineKey = key;
    this.runtimes.push(next);
    const h = this.engine.manager.health();
    return { from, to: modelLabel(this.engine), ...(h.loadMs !== undefined ? { loadMs: h.loadMs } : {}), ...(h.warmupMs !== undefined ? { warmupMs: h.warmupMs } : {}) };
  }

  /** With a failover pair the ladder is bound to the pair: the engine is rebuilt only at a restart. */
  private pairBlocksSwitch(): boolean {
    return this.engine.selection.fallback !== undefined;
  }

  private restartRequired(config: ResolvedConfig): { path: string; reason: string }[] {
    const pair = this.pairBlocksSwitch();
    return changedPaths(this.startConfig, config)
      .filter((p) => pair || !isEngineSetting(p))
      .map((path) => ({ path, reason: pair && isEngineSetting(path) ? 'asr.fallback makes a failover pair, which is rebuilt only at a restart' : restartReason(path) }));
  }
}

function modelLabel(engine: EngineHost): string {
  return `${engine.providerName}/${engine.modelName}`;
}

/** Paths a reload applies by switching the model. */
function isEngineSetting(path: string): boolean {
  return isUnder(path, 'asr.provider') || isUnder(path, 'providers');
}

/** The serving provider and its settings, compared to see whether a reload must switch models. */
function engineKey(config: ResolvedConfig, provider: string, model: string | undefined): string {
  return JSON.stringify({ provider, model: model ?? null, slice: config.providers[provider] ?? null });
}
