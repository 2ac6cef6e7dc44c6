import type { EchoPanelConfigInput } from './schema.js';

/**
 * Types an `echopanel.config.ts` (over the schema's *input*: every defaulted field optional). The loaded,
 * validated, defaulted config is the separate readonly {@link ResolvedConfig}.
 */
export function defineConfig(config: EchoPanelConfigInput): EchoPanelConfigInput {
  return config;
}
