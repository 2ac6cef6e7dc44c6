/** First-party plugins every runtime knows; `plugins` in the config adds entries or overrides these. */
export const DEFAULT_IMPORT_MAP: Readonly<Record<string, string>> = Object.freeze({
  'faster-whisper': '@echopanel/provider-faster-whisper',
  'whisper-cpp': '@echopanel/provider-whisper-cpp',
  voxtral: '@echopanel/provider-voxtral',
  silero: '@echopanel/vad-silero',
});

/** The effective import map: defaults, then the config's `plugins`. */
export function buildImportMap(plugins: Readonly<Record<string, string>>): Record<string, string> {
  return { ...DEFAULT_IMPORT_MAP, ...plugins };
}

/** What of the config decides which plugins a command needs. */
export interface PluginUse {
  readonly asr: { readonly provider: string; readonly fallback?: string; readonly segmentation: string };
  readonly vad: { readonly provider: string; readonly enabled: boolean };
}

/**
 * The part of `importMap` a config uses: `asr.provider` (every entry when it is `auto`, since detection chooses
 * among them), `asr.fallback`, and `vad.provider` while VAD segmentation is on. Hosts load only these for
 * serving, so a plugin the config does not use cannot break it.
 */
export function importMapInUse(config: PluginUse, importMap: Readonly<Record<string, string>>): Record<string, string> {
  const vadOn = config.vad.enabled && config.asr.segmentation === 'vad';
  const auto = config.asr.provider === 'auto';
  const used = new Set([config.asr.provider, ...(config.asr.fallback ? [config.asr.fallback] : []), ...(vadOn ? [config.vad.provider] : [])]);
  return Object.fromEntries(Object.entries(importMap).filter(([name]) => used.has(name) || (auto && name !== config.vad.provider)));
}
