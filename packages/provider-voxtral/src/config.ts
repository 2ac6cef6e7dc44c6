import { z } from 'zod';

/**
 * The `providers.voxtral` config slice. Paths are resolved against the config file's directory; `binary` and
 * `modelDir` fall back to `VOXTRAL_BIN` / `VOXTRAL_MODEL_DIR`, then to `voxtral` on PATH and `./voxtral-model`
 * (where voxtral.c's `download_model.sh` puts the weights).
 */
export const voxtralConfigSchema = z
  .object({
    /** The voxtral.c executable (a path, or a name looked up on PATH). */
    binary: z.string().min(1).optional(),
    /** Directory with consolidated.safetensors, tekken.json and params.json. */
    modelDir: z.string().min(1).optional(),
    /** `-I`: encoder processing interval in seconds (voxtral.c default 2.0; lower = text sooner, more overhead). */
    intervalSeconds: z.number().positive().max(60).default(2),
    /** How long the model may take to load before the start counts as failed (INIT_TIMEOUT). */
    readyTimeoutMs: z.number().int().positive().default(30_000),
    /** Restarts allowed per stream after a crash or stall; past it the stream fails with WORKER_CRASHED. */
    restartLimit: z.number().int().min(0).max(100).default(3),
    /** After stdin is closed, how long the process may take to finish before it is killed. */
    stopGraceMs: z.number().int().positive().default(5_000),
    /** No progress (stdin not draining, no output) for this long while work is pending counts as a hang. */
    stallTimeoutMs: z.number().int().positive().default(30_000),
    /**
     * Pass `--silent`. voxtral.c then prints nothing but errors; readiness still works because the provider sets
     * `VOX_PRINT_TIMINGS=1`, which makes it print `Model load: N ms` after loading.
     */
    silent: z.boolean().default(false),
    /** Start the next process as soon as one finishes, so the next stream does not wait for the model to load. */
    keepWarm: z.boolean().default(true),
    /**
     * A final segment is cut when no new text arrived while this much audio was written (default: interval +
     * 1 s — the encoder runs at least once per interval, so a longer quiet stretch means it heard no speech).
     */
    pauseSeconds: z.number().positive().optional(),
    /**
     * Estimated delay between audio written and its text appearing (default: interval + 0.75 s: the encoder
     * interval, the 480 ms decoder delay and one 256 ms stdin read). Timestamps are shifted back by it.
     */
    latencySeconds: z.number().min(0).optional(),
    /**
     * Audio kept before a final's cut point for replay after a crash (default 10 s: covers the latency plus
     * what can sit unread in the stdin pipe). Words replayed twice are removed by overlap matching.
     */
    replayMarginSeconds: z.number().min(0).max(120).default(10),
    /**
     * Audio is written at most this many times faster than real time (0 = as fast as the process reads). Live
     * audio arrives at 1× anyway; the cap keeps a faster producer (a file, catching up) from filling the stdin pipe,
     * where audio waits unread and makes text look earlier than it is (timestamps and pauses are measured in audio
     * written). Replays after a restart are not capped.
     */
    maxSpeed: z.number().min(0).default(2),
    /** Upper bound of the replay buffer; reaching it forces a final (memory stays bounded). */
    maxReplaySeconds: z.number().positive().max(600).default(60),
    /** Extra environment for the process (e.g. VOX_STREAM_CHUNK_NEW_MEL, VOX_CUDA_PREFETCH). */
    env: z.record(z.string(), z.string()).default({}),
  })
  .strict()
  .refine((c) => c.maxReplaySeconds > c.replayMarginSeconds, {
    message: 'maxReplaySeconds must be larger than replayMarginSeconds',
    path: ['maxReplaySeconds'],
  });

/** Validated, defaulted config. */
export type VoxtralConfig = z.output<typeof voxtralConfigSchema>;
/** Config as written by a user. */
export type VoxtralConfigInput = z.input<typeof voxtralConfigSchema>;
