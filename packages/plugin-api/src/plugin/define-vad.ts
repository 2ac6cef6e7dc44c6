import type { z } from 'zod';
import type { PluginContext } from './plugin-context.js';
import type { VadEngine } from './vad.js';
import { PLUGIN_BRAND, type PluginKind } from './define-provider.js';

export interface VadPluginDefinition<Schema extends z.ZodType = z.ZodType, Instance extends VadEngine = VadEngine> {
  readonly name: string;
  readonly apiVersion: number;
  readonly configSchema: Schema;
  /** Makes the engine from the validated, defaulted slice (a method for the same reason as a provider's). */
  create(config: z.output<Schema>, ctx: PluginContext): Instance | Promise<Instance>;
  readonly version?: string;
  readonly description?: string;
}

export type VadPlugin<Schema extends z.ZodType = z.ZodType, Instance extends VadEngine = VadEngine> =
  VadPluginDefinition<Schema, Instance> & { readonly [PLUGIN_BRAND]: PluginKind; readonly kind: 'vad' };

/** Declares a VAD plugin (same loading path as providers; config slice under `vad.options`). */
export function defineVad<Schema extends z.ZodType, Instance extends VadEngine>(
  definition: VadPluginDefinition<Schema, Instance>,
): VadPlugin<Schema, Instance> {
  return Object.freeze({ ...definition, kind: 'vad' as const, [PLUGIN_BRAND]: 'vad' as const });
}
