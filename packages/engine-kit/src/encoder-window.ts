/** Whisper's encoder window: the model was trained on 30 s of audio (1500 encoder positions, 50 per second). */
export const WHISPER_WINDOW_SECONDS = 30;

/**
 * Silence a shortened encoder window keeps past the audio. With less, tiny.en falls into repetition loops
 * ("Montreal forced a liner. Montreal forced a liner. …"): on 41 real recordings (faster-whisper) loops at
 * margins of 2–6 s, none at 8–14 s, WER at 14 s 22.9 % vs 23.2 % with the full window; an utterance in light
 * noise (the onset accuracy test) still looped or vanished at 10 s, never at 15 s.
 */
export const ENCODER_MARGIN_SECONDS = 15;

/**
 * The margin for a draft (a partial, replaced by its final): the shortest at which no real recording looped
 * above, at about half the encoder cost of a 3 s utterance's full margin.
 */
export const DRAFT_ENCODER_MARGIN_SECONDS = 8;

/**
 * The encoder window (whole seconds) for `audioSeconds` of audio decoded as one independent utterance or chunk.
 * The encoder's cost grows faster than linearly with its window (tiny.en int8 on 2 cores: 30 s ≈ 340 ms,
 * 10 s ≈ 45 ms), and an utterance of a live stream is a few seconds long, so encoding the full 30 s is most
 * of a decode. Long-form decoding keeps the full window (it slides it over the recording).
 */
export function encoderWindowSeconds(audioSeconds: number, options: { draft?: boolean } = {}): number {
  const margin = options.draft ? DRAFT_ENCODER_MARGIN_SECONDS : ENCODER_MARGIN_SECONDS;
  return Math.min(WHISPER_WINDOW_SECONDS, Math.ceil(Math.max(0, audioSeconds) + margin));
}
