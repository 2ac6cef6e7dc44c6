/** Whisper-family model sizes, smallest first (the downgrade chain). */
export const WHISPER_MODEL_CHAIN = ['tiny.en', 'base.en', 'small.en', 'medium.en', 'large-v3-turbo', 'large-v3'] as const;

export type WhisperModelName = (typeof WHISPER_MODEL_CHAIN)[number];

/** Approximate resident memory (MB) while loaded, by provider format (CPU int8 for ct2, ggml f16/q for whisper.cpp). */
export const MODEL_RESIDENT_MB: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'faster-whisper': { 'tiny.en': 150, 'base.en': 250, 'small.en': 600, 'medium.en': 1500, 'large-v3-turbo': 1700, 'large-v3': 3100 },
  'whisper-cpp': { 'tiny.en': 130, 'base.en': 220, 'small.en': 600, 'medium.en': 1700, 'large-v3-turbo': 1800, 'large-v3': 3900 },
  voxtral: { 'voxtral-mini-4b-realtime': 9000 },
};

/** Index in {@link WHISPER_MODEL_CHAIN} (-1 for other models). */
export function modelRank(model: string): number {
  return (WHISPER_MODEL_CHAIN as readonly string[]).indexOf(model);
}
