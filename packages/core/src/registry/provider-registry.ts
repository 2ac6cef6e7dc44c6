import 'reflect-metadata';
import { inject, injectable } from 'tsyringe';
import type { ResolvedConfig } from '../config/schema.js';
import { TOKENS, type PluginContextFactory } from '../di/tokens.js';
import type { ASRProvider, Logger, ProviderPlugin } from '@echopanel/plugin-api';
import { PluginRegistry } from './plugin-registry.js';

/** The ASR providers of a runtime. Config slices come from `providers.<name>`. */
@injectable()
export class ProviderRegistry extends PluginRegistry<ProviderPlugin, ASRProvider> {
  constructor(
    @inject(TOKENS.PluginContextFactory) contextFor: PluginContextFactory,
    @inject(TOKENS.Config) config: ResolvedConfig,
    @inject(TOKENS.Logger) logger: Logger,
  ) {
    super('provider', contextFor, (name) => config.providers[name], logger);
  }
}
