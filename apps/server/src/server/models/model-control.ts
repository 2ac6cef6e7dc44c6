import {
  detectMachineProfile,
  EchoPanelError,
  errorMessage,
  findModelPackage,
  isEchoPanelError,
  MODEL_RESIDENT_MB,
  silentLogger,
  type EchoPanelRuntime,
  type Logger,
  type ModelFormat,
} from '@echopanel/core';
import type { EngineHost } from '../engine-host.js';

/** One model a provider of this server can serve (`GET /v1/models`). */
export interface ServableModel {
  /** `provider:model`, the `{id}` of `POST /v1/models/{id}/load` and `DELETE /v1/models/{id}`. */
  readonly id: string;
  readonly provider: string;
  readonly model: string;
  readonly format: ModelFormat;
  /** `loaded`: serving (or still finishing streams after a switch); `available`: installed, not in memory. */
  readonly state: 'loaded' | 'available';
  /** `store`: installed in the model store; `bundled`: shipped in the Python package (ggml converted on first use). */
  readonly source: 'store' | 'bundled';
  readonly size_bytes: number | null;
  readonly sha256: string | null;
  /** What loading it is expected to take in memory (the catalog's resident figure, else twice its weights). */
  readonly memory_estimate_bytes: number | null;
}

export interface LoadResult {
  readonly id: string;
  readonly state: 'loaded';
  readonly load_time_ms?: number;
  readonly warmup_time_ms?: number;
}

/** A `models.preload` entry's progress. */
export interface PreloadStatus {
  readonly id: string;
  readonly state: 'pending' | 'ready' | 'failed';
  readonly path?: string;
  readonly ms?: number;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface UnloadResult {
  readonly id: string;
  readonly state: 'available';
  /** This process's RSS plus the engine worker's, before and after the unload. */
  readonly rss_before_bytes: number;
  readonly rss_after_bytes: number;
  readonly freed_bytes: number;
}

/**
 * Loading and unloading models on request (Ollama/speaches style). One model serves at a time: loading another
 * switches to it the way a config reload does (loaded and warmed beside the serving one, live streams keep
 * theirs). Unloading frees the memory; the next request loads that model again.
 */
export class ModelControl {
  private readonly formats = new Map<string, ModelFormat>();
  private readonly preloads = new Map<string, PreloadStatus>();
  private readonly logger: Logger;

  constructor(
    private readonly engine: EngineHost,
    private readonly runtime: EchoPanelRuntime,
    logger: Logger = silentLogger,
  ) {
    this.logger = logger.child({ component: 'model-control' });
  }

  /** The models the loaded providers can serve: installed in the store, or bundled. */
  async list(): Promise<ServableModel[]> {
    const rows = await this.runtime.models.store.list({ package: await findModelPackage(this.runtime.pythonPath) });
    const out: ServableModel[] = [];
    for (const provider of this.runtime.providers.list().map((p) => p.name)) {
      const format = await this.formatOf(provider);
      if (!format) continue;
      const seen = new Set<string>();
      for (const r of rows) {
        // whisper.cpp converts the bundled CTranslate2 tiny.en to ggml on first use: it serves that one too.
        const bundled = r.format === 'ct2' && r.path !== undefined && !r.path.startsWith(this.runtime.models.store.root);
        if (!r.installed || (r.format !== format && !(bundled && format === 'ggml')) || seen.has(r.name)) continue;
        seen.add(r.name);
        const same = r.format === format;
        out.push({
          id: `${provider}:${r.name}`,
          provider,
          model: r.name,
          format,
          state: this.isLoaded(provider, r.name) ? 'loaded' : 'available',
          source: bundled ? 'bundled' : 'store',
          size_bytes: same ? (r.size ?? null) : null,
          sha256: same ? (r.sha256 ?? null) : null,
          memory_estimate_bytes: memoryEstimate(provider, r.name, r.size),
        });
      }
    }
    return out;
  }

  /** `models.preload`, one after another: each model's weights resolved into the store. Never throws (see {@link preloadStatus}). */
  async preload(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.preloads.set(id, { id, state: 'pending' });
    for (const id of ids) {
      const t0 = Date.now();
      try {
        const m = await this.find(id);
        const resolved = await this.runtime.models.resolve(m.model, m.format);
        this.preloads.set(id, { id, state: 'ready', path: resolved.path, ms: Date.now() - t0 });
        this.logger.info({ id, path: resolved.path, ms: Date.now() - t0 }, 'preloaded model weights');
      } catch (err) {
        const e = isEchoPanelError(err) ? err : new EchoPanelError('INTERNAL', errorMessage(err));
        this.preloads.set(id, { id, state: 'failed', error: { code: e.code, message: e.message } });
        this.logger.warn({ id, code: e.code, err: e.message }, `models.preload: ${id} could not be prepared`);
      }
    }
  }

  preloadStatus(): PreloadStatus[] {
    return [...this.preloads.values()];
  }

  /** Loads `id` (and switches to it when another model serves); INSUFFICIENT_MEMORY when it would not fit. */
  async load(id: string): Promise<LoadResult> {
    const m = await this.find(id);
    const manager = this.engine.manager;
    if (this.isServing(m.provider, m.model)) {
      if (manager.state === 'ERROR') await manager.retry();
      else await manager.initialize();
    } else {
      await this.assertFits(m);
      const slice = { ...(this.runtime.config.providers[m.provider] ?? {}), model: m.model };
      const provider = await this.runtime.providers.create(m.provider, slice);
      this.logger.info({ from: `${this.engine.providerName}:${this.engine.modelName}`, to: id }, 'loading a model on request');
      await manager.switchModel(provider);
    }
    const h = manager.health();
    return { id, state: 'loaded', ...(h.loadMs !== undefined ? { load_time_ms: h.loadMs } : {}), ...(h.warmupMs !== undefined ? { warmup_time_ms: h.warmupMs } : {}) };
  }

  /** Unloads `id` if it is loaded (streams on it finish first, up to the drain timeout) and reports the memory freed. */
  async unload(id: string): Promise<UnloadResult> {
    const m = await this.find(id);
    const before = this.rss();
    if (this.isServing(m.provider, m.model) && !this.engine.manager.parked) {
      await this.engine.manager.offload();
      this.logger.info({ id }, 'model unloaded on request');
    }
    const after = this.rss();
    return { id, state: 'available', rss_before_bytes: before, rss_after_bytes: after, freed_bytes: Math.max(0, before - after) };
  }

  /** By id, or by model name when one provider serves it. */
  private async find(id: string): Promise<ServableModel> {
    const all = await this.list();
    const byName = all.filter((x) => x.model === id);
    const m = all.find((x) => x.id === id) ?? (byName.length === 1 ? byName[0] : undefined);
    if (m) return m;
    const known = all.map((x) => x.id);
    throw new EchoPanelError('MODEL_NOT_FOUND', `no model ${JSON.stringify(id)} on this server; GET /v1/models lists them (${known.join(', ')})`, {
      details: { param: 'id' },
    });
  }

  /**
   * Throws INSUFFICIENT_MEMORY when `provider`'s `model` (a name of `GET /v1/models`) would not fit; a model not
   * listed there (a path, a download) is not checked.
   */
  async assertModelFits(provider: string, model: string): Promise<void> {
    const m = (await this.list()).find((x) => x.provider === provider && x.model === model);
    if (m && m.state !== 'loaded') await this.assertFits(m);
  }

  private async assertFits(m: ServableModel): Promise<void> {
    if (m.memory_estimate_bytes === null) return;
    const configured = this.runtime.config.models.availableMemoryBytes;
    const available = configured ?? (await detectMachineProfile()).freeMemoryBytes;
    if (m.memory_estimate_bytes <= available) return;
    const mb = (b: number) => `${Math.round(b / 1e6)} MB`;
    throw new EchoPanelError(
      'INSUFFICIENT_MEMORY',
      `loading ${m.id} needs about ${mb(m.memory_estimate_bytes)} but ${mb(available)} is available${configured !== undefined ? ' (models.availableMemoryBytes)' : ''}; unload a model (DELETE /v1/models/{id}), choose a smaller one, or free memory`,
      { details: { needed: m.memory_estimate_bytes, available } },
    );
  }

  private isServing(provider: string, model: string): boolean {
    return this.engine.providerName === provider && this.engine.modelName === model;
  }

  private isLoaded(provider: string, model: string): boolean {
    const manager = this.engine.manager;
    return this.isServing(provider, model) && (manager.state === 'READY' || manager.state === 'WARMING_UP');
  }

  /** A provider's model format, asked of an instance made with the config's settings (not loaded). */
  private async formatOf(provider: string): Promise<ModelFormat | undefined> {
    if (!this.formats.has(provider)) {
      const p = provider === this.engine.providerName ? this.engine.manager : await this.runtime.providers.create(provider).catch(() => undefined);
      const format = p?.modelInfo?.()?.format;
      if (format === 'ct2' || format === 'ggml') this.formats.set(provider, format);
    }
    return this.formats.get(provider);
  }

  private rss(): number {
    const h = this.engine.manager.health();
    return h.memory.processRssBytes + h.memory.workerRssBytes;
  }
}

/** The catalog's resident figure for a known model, else twice the weights (buffers and caches come on top). */
function memoryEstimate(provider: string, model: string, size: number | undefined): number | null {
  const mb = MODEL_RESIDENT_MB[provider]?.[model];
  if (mb !== undefined) return mb * 1e6;
  return size !== undefined ? size * 2 : null;
}
