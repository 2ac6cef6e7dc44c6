import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { loadConfig, type LoadConfigOptions } from '../config/load-config.js';
import type { ResolvedConfig } from '../config/schema.js';
import { TOKENS, type PluginContextFactory } from '../di/tokens.js';
import {
  type Clock,
  type EchoPanelError,
  type Logger,
  type ModelResolver,
  type PluginContext,
  type ProviderPlugin,
  silentLogger,
  systemClock,
  type VadPlugin,
} from '@echopanel/plugin-api';
import { createModelResolver, type ModelStore } from '../models/index.js';
import { buildImportMap, importMapInUse } from '../registry/import-map.js';
import { loadPlugins, type PluginFailure } from '../registry/plugin-loader.js';
import { ProviderRegistry } from '../registry/provider-registry.js';
import { VadRegistry } from '../registry/vad-registry.js';
import { findProjectPython } from './project-python.js';

export interface RuntimeOptions extends LoadConfigOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  /**
   * Which import-map entries to load: `all` (default: listings such as `echopanel providers`) or `in-use` (what
   * the config uses, see {@link importMapInUse}: for serving, where a plugin the config does not use must not
   * matter, not even when it is missing or broken).
   */
  readonly plugins?: 'all' | 'in-use';
  /**
   * Where the host itself is installed (e.g. the CLI's package directory). Plugins not found from the config's
   * directory resolve from here, and so does the project Python when the config's tree has no `.venv`: the
   * plugins shipped with the host work wherever the config lives.
   */
  readonly hostDirs?: readonly string[];
  /** Passed to plugins as {@link PluginContext.oneShot}: the host transcribes once and exits (a CLI command). */
  readonly oneShot?: boolean;
}

/** Everything a host (server, CLI, tests) needs, assembled from one config. */
export interface EchoPanelRuntime {
  readonly config: ResolvedConfig;
  readonly configFile?: string;
  readonly configDir: string;
  /** Child container holding the tokens in {@link TOKENS}. */
  readonly container: DependencyContainer;
  readonly providers: ProviderRegistry;
  readonly vads: VadRegistry;
  /** The model resolver and the store it installs into. */
  readonly models: ModelResolver & { readonly store: ModelStore };
  readonly logger: Logger;
  readonly pythonPath: string;
  /** The effective import map (defaults + config `plugins`). */
  readonly importMap: Readonly<Record<string, string>>;
  /** The entries that were loaded (all of {@link importMap}, or those in use). */
  readonly loadedMap: Readonly<Record<string, string>>;
  /** Plugins that failed to load, one error each. */
  readonly failures: readonly PluginFailure[];
  /** One line per failing plugin, for startup reports. */
  failureReport(): string[];
  /** Disposes every created instance. */
  dispose(): Promise<void>;
}

/**
 * Loads the config, wires the DI container and loads the plugins of the import map (all, or those in use; each
 * in isolation: a broken plugin is reported in `failures`, the rest register). Never throws for a broken plugin;
 * throws for a broken config (INVALID_CONFIG / CONFIG_NOT_FOUND) and for two plugins with one name
 * (DUPLICATE_PROVIDER).
 */
export async function createRuntime(options: RuntimeOptions = {}): Promise<EchoPanelRuntime> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const loaded = await loadConfig(options);
  const { config, configDir } = loaded;
  const hostDirs = options.hostDirs ?? [];
  const pythonPath = findProjectPython(configDir, env, hostDirs);
  const models = createModelResolver({
    modelDir: config.models.dir ?? env.ECHOPANEL_MODEL_DIR,
    allowDownload: config.models.allowDownload ?? !isCI(env),
    pythonPath,
    logger: logger.child({ component: 'models' }),
  });

  const container = rootContainer.createChildContainer();
  const contextFor: PluginContextFactory = (name): PluginContext => ({
    logger: logger.child({ plugin: name }),
    configDir,
    pythonPath,
    models,
    clock,
    env,
    ...(options.oneShot ? { oneShot: true } : {}),
  });
  container.register(TOKENS.Config, { useValue: config });
  container.register(TOKENS.LoadedConfig, { useValue: loaded });
  container.register(TOKENS.Logger, { useValue: logger });
  container.register(TOKENS.Clock, { useValue: clock });
  container.register(TOKENS.ModelResolver, { useValue: models });
  container.register(TOKENS.PluginContextFactory, { useValue: contextFor });
  const providers = container.resolve(ProviderRegistry);
  const vads = container.resolve(VadRegistry);
  container.register(TOKENS.ProviderRegistry, { useValue: providers });
  container.register(TOKENS.VadRegistry, { useValue: vads });

  const importMap = buildImportMap(config.plugins);
  const loadedMap = options.plugins === 'in-use' ? importMapInUse(config, importMap) : importMap;
  const { loaded: plugins, failures } = await loadPlugins(loadedMap, configDir, hostDirs);
  const duplicates: EchoPanelError[] = [];
  for (const p of plugins) {
    const origin = { specifier: p.specifier, packageName: p.packageName, version: p.version };
    try {
      if (p.kind === 'vad') vads.register(p.plugin as VadPlugin, origin);
      else providers.register(p.plugin as ProviderPlugin, origin);
    } catch (err) {
      duplicates.push(err as EchoPanelError);
    }
  }
  if (duplicates.length > 0) throw duplicates[0];
  for (const p of plugins) {
    if (p.plugin.name !== p.mapName) {
      logger.warn({ plugin: p.plugin.name, mapName: p.mapName }, `plugin registered as '${p.plugin.name}' although the import map calls it '${p.mapName}'`);
    }
  }

  return {
    config,
    ...(loaded.filepath ? { configFile: loaded.filepath } : {}),
    configDir,
    container,
    providers,
    vads,
    models,
    logger,
    pythonPath,
    importMap,
    loadedMap,
    failures,
    failureReport: () => failures.map((f) => `${f.mapName}: ${f.error.code}: ${f.error.message}`),
    dispose: async () => {
      await Promise.all([providers.dispose(), vads.dispose()]);
    },
  };
}

function isCI(env: Readonly<Record<string, string | undefined>>): boolean {
  return env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
}
