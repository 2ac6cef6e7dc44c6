import type { InjectionToken } from 'tsyringe';
import type { LoadedConfig } from '../config/load-config.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { Clock, Logger, ModelResolver, PluginContext } from '@echopanel/plugin-api';
import type { ProviderRegistry } from '../registry/provider-registry.js';
import type { VadRegistry } from '../registry/vad-registry.js';

/** Makes the context a plugin's `create` receives. */
export type PluginContextFactory = (pluginName: string) => PluginContext;

/**
 * Injection tokens of the core container. Symbols from the global registry, so a second copy of core resolves
 * the same tokens.
 */
export const TOKENS = {
  Config: Symbol.for('echopanel.Config') as InjectionToken<ResolvedConfig>,
  LoadedConfig: Symbol.for('echopanel.LoadedConfig') as InjectionToken<LoadedConfig>,
  Logger: Symbol.for('echopanel.Logger') as InjectionToken<Logger>,
  Clock: Symbol.for('echopanel.Clock') as InjectionToken<Clock>,
  ModelResolver: Symbol.for('echopanel.ModelResolver') as InjectionToken<ModelResolver>,
  PluginContextFactory: Symbol.for('echopanel.PluginContextFactory') as InjectionToken<PluginContextFactory>,
  ProviderRegistry: Symbol.for('echopanel.ProviderRegistry') as InjectionToken<ProviderRegistry>,
  VadRegistry: Symbol.for('echopanel.VadRegistry') as InjectionToken<VadRegistry>,
} as const;
