import 'reflect-metadata';
import { inject, injectable } from 'tsyringe';
import type { ResolvedConfig } from '../config/schema.js';
import { TOKENS, type PluginContextFactory } from '../di/tokens.js';
import type { Logger, VadEngine, VadPlugin } from '@echopanel/plugin-api';
import { PluginRegistry } from './plugin-registry.js';

/** The VAD plugins of a runtime. The active one's config slice is `vad.options`. */
@injectable()
export class VadRegistry extends PluginRegistry<VadPlugin, VadEngine> {
  constructor(
    @inject(TOKENS.PluginContextFactory) contextFor: PluginContextFactory,
    @inject(TOKENS.Config) config: ResolvedConfig,
    @inject(TOKENS.Logger) logger: Logger,
  ) {
    super('vad', contextFor, (name) => (name === config.vad.provider ? config.vad.options : {}), logger);
  }
}
