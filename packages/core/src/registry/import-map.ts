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
