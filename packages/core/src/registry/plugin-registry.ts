import type { z } from 'zod';
import { EchoPanelError, errorMessage, isEchoPanelError, type Logger, type PluginContext } from '@echopanel/plugin-api';
import { formatZodIssues } from '../config/format-zod-issues.js';
import { instanceKey } from './canonical-key.js';
import type { RegistryEvent, RegistryListener } from './registry-events.js';

/** The part of a plugin the registry needs (provider and VAD plugins both have it). */
export interface RegistrablePlugin<I> {
  readonly name: string;
  readonly apiVersion: number;
  readonly configSchema: z.ZodType;
  readonly create: (config: never, ctx: PluginContext) => I | Promise<I>;
  readonly version?: string;
  readonly description?: string;
}

/** Where a registered plugin came from. */
export interface PluginOrigin {
  /** Package name or path as written in the import map. */
  readonly specifier?: string;
  readonly packageName?: string;
  readonly version?: string;
}

export interface RegisteredPlugin<P> {
  readonly name: string;
  readonly plugin: P;
  readonly origin: PluginOrigin;
}

interface Lifecycle {
  load?(): Promise<void>;
  unload?(): Promise<void>;
  dispose?(): Promise<void>;
}

/**
 * Registry of one kind of plugin: register / has / list / get / create / dispose. `create` validates the config
 * slice with the plugin's schema, then caches the instance under name + the whole validated config; concurrent
 * `create` calls for one key share one instance.
 */
export class PluginRegistry<P extends RegistrablePlugin<I>, I extends Lifecycle> {
  private readonly plugins = new Map<string, RegisteredPlugin<P>>();
  private readonly instances = new Map<string, Promise<I>>();
  private readonly listeners = new Set<RegistryListener>();

  constructor(
    protected readonly kind: 'provider' | 'vad',
    private readonly contextFor: (name: string) => PluginContext,
    private readonly sliceFor: (name: string) => unknown,
    private readonly logger: Logger,
  ) {}

  /** Adds a plugin. A second plugin with the same name is an error (DUPLICATE_PROVIDER), never an overwrite. */
  register(plugin: P, origin: PluginOrigin = {}): void {
    const existing = this.plugins.get(plugin.name);
    if (existing) {
      const from = (o: PluginOrigin) => o.packageName ?? o.specifier ?? 'inline';
      throw new EchoPanelError(
        'DUPLICATE_PROVIDER',
        `${this.kind} '${plugin.name}' is registered twice: by ${from(existing.origin)} and by ${from(origin)}; remove one from 'plugins' in the config`,
        { details: { name: plugin.name, first: from(existing.origin), second: from(origin) } },
      );
    }
    this.plugins.set(plugin.name, { name: plugin.name, plugin, origin });
    this.emit({ type: 'registered', name: plugin.name, packageName: origin.packageName, version: origin.version ?? plugin.version });
  }

  has(name: string): boolean {
    return this.plugins.has(name);
  }

  list(): RegisteredPlugin<P>[] {
    return [...this.plugins.values()];
  }

  /** The registered plugin, or PROVIDER_NOT_FOUND naming those that exist. */
  get(name: string): RegisteredPlugin<P> {
    const found = this.plugins.get(name);
    if (!found) {
      const known = [...this.plugins.keys()];
      throw new EchoPanelError(
        'PROVIDER_NOT_FOUND',
        `no ${this.kind} named '${name}' (registered: ${known.length ? known.join(', ') : 'none'}); add it to 'plugins' in the config`,
        { details: { name, registered: known } },
      );
    }
    return found;
  }

  /** Validates `name`'s config slice (default: the config's slice) and returns its validated, defaulted form. */
  validateConfig(name: string, slice: unknown = this.sliceFor(name)): unknown {
    const { plugin } = this.get(name);
    const parsed = plugin.configSchema.safeParse(slice ?? {});
    if (!parsed.success) {
      const prefix = this.kind === 'provider' ? `providers.${name}` : 'vad.options';
      throw new EchoPanelError('INVALID_CONFIG', formatZodIssues(parsed.error, prefix, plugin.configSchema), { details: { plugin: name } });
    }
    return parsed.data;
  }

  /** The instance for `name` with this config slice (validated first), created once per distinct config. */
  async create(name: string, slice?: unknown): Promise<I> {
    const config = this.validateConfig(name, slice === undefined ? this.sliceFor(name) : slice);
    const key = instanceKey(name, config);
    let pending = this.instances.get(key);
    if (!pending) {
      const { plugin } = this.get(name);
      pending = (async () => {
        try {
          const instance = await (plugin.create as (c: unknown, ctx: PluginContext) => I | Promise<I>)(config, this.contextFor(name));
          this.emit({ type: 'created', name, key });
          return instance;
        } catch (err) {
          const error = isEchoPanelError(err)
            ? err
            : new EchoPanelError('PROVIDER_CREATE_FAILED', `${this.kind} '${name}' failed in create(): ${errorMessage(err)}`, { cause: err });
          this.emit({ type: 'failed', name, stage: 'create', error });
          throw error;
        }
      })();
      this.instances.set(key, pending);
      // A failed create is forgotten so a later call can retry (create may throw before this line runs).
      const settled = pending;
      settled.catch(() => {
        if (this.instances.get(key) === settled) this.instances.delete(key);
      });
    }
    return pending;
  }

  /** Creates (if needed) and loads the instance, emitting `loaded` or `failed`. */
  async load(name: string, slice?: unknown): Promise<I> {
    const instance = await this.create(name, slice);
    const key = instanceKey(name, this.validateConfig(name, slice === undefined ? this.sliceFor(name) : slice));
    const started = performance.now();
    try {
      await instance.load?.();
    } catch (err) {
      this.emit({ type: 'failed', name, stage: 'load', error: err as Error });
      throw err;
    }
    this.emit({ type: 'loaded', name, key, ms: performance.now() - started });
    return instance;
  }

  /** Unloads and forgets instances (of `name`, or all). Errors are logged, not thrown: disposal always completes. */
  async dispose(name?: string): Promise<void> {
    const entries = [...this.instances.entries()].filter(([key]) => name === undefined || key.startsWith(`${name}#`));
    await Promise.all(
      entries.map(async ([key, pending]) => {
        this.instances.delete(key);
        const pluginName = key.slice(0, key.indexOf('#'));
        try {
          const instance = await pending;
          await (instance.dispose ? instance.dispose() : instance.unload?.());
          this.emit({ type: 'unloaded', name: pluginName, key });
        } catch (err) {
          this.logger.warn({ plugin: pluginName, err: errorMessage(err) }, 'dispose failed');
          this.emit({ type: 'failed', name: pluginName, stage: 'unload', error: err as Error });
        }
      }),
    );
  }

  /** Subscribes to lifecycle events; returns the unsubscribe function. */
  on(listener: RegistryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: RegistryEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.logger.warn({ err: errorMessage(err) }, 'registry listener threw');
      }
    }
  }
}
