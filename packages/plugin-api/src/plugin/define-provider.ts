import type { z } from 'zod';
import type { ASRProvider } from './provider.js';
import type { PluginContext } from './plugin-context.js';

/** The plugin API version this host implements. A plugin built for another major version is refused. */
export const PLUGIN_API_VERSION = 1;

/** Brand that marks a plugin object (checked instead of `instanceof`, so duplicate installs of core still work). */
export const PLUGIN_BRAND = Symbol.for('echopanel.plugin');

export type PluginKind = 'provider' | 'vad';

/** What a plugin author writes. */
export interface ProviderPluginDefinition<Schema extends z.ZodType = z.ZodType, Instance extends ASRProvider = ASRProvider> {
  /** Unique provider name used in config (`asr.provider`, `providers.<name>`). */
  readonly name: string;
  /** Host API the plugin was written for: {@link PLUGIN_API_VERSION}. */
  readonly apiVersion: number;
  /** Validates and defaults the plugin's slice of config (`providers.<name>`). */
  readonly configSchema: Schema;
  /**
   * Makes a provider from the validated, defaulted slice. A method, so a plugin of any schema is a `ProviderPlugin`
   * (the host parses the slice with the plugin's own schema before it calls this).
   */
  create(config: z.output<Schema>, ctx: PluginContext): Instance | Promise<Instance>;
  /** Plugin package version, shown by `echopanel providers`. */
  readonly version?: string;
  readonly description?: string;
}

/** A branded, frozen provider plugin, as `defineProvider` returns it. */
export type ProviderPlugin<Schema extends z.ZodType = z.ZodType, Instance extends ASRProvider = ASRProvider> =
  ProviderPluginDefinition<Schema, Instance> & { readonly [PLUGIN_BRAND]: PluginKind; readonly kind: 'provider' };

/**
 * Declares an ASR provider plugin. Export the result as the package's default export.
 * @example
 * ```ts
 * export default defineProvider({ name: 'acme-echo', apiVersion: 1, configSchema, create: (cfg, ctx) => new AcmeEcho(cfg, ctx) });
 * ```
 */
export function defineProvider<Schema extends z.ZodType, Instance extends ASRProvider>(
  definition: ProviderPluginDefinition<Schema, Instance>,
): ProviderPlugin<Schema, Instance> {
  return Object.freeze({ ...definition, kind: 'provider' as const, [PLUGIN_BRAND]: 'provider' as const });
}
