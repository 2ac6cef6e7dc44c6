import { z } from 'zod';

/**
 * The `providers.faster-whisper` config slice. Devices `mps`/`metal` are accepted (configs written for Apple
 * machines) and run on cpu; float16 compute types on cpu run as int8 (both with a logged notice).
 */
export const fasterWhisperConfigSchema = z
  .object({
    /** Catalog name (e.g. `tiny.en`) or path to a CTranslate2 model directory. */
    model: z.string().min(1).default('tiny.en'),
    device: z.enum(['auto', 'cpu', 'cuda', 'mps', 'metal']).default('auto'),
    /**
     * CTranslate2 compute type; `default` keeps the type the weights were saved in. int8 is the CPU choice
     * for tiny.en: what this package measured best on a busy 2-core CPU (see bench/rtf.mjs).
     */
    computeType: z.enum(['default', 'int8', 'int8_float16', 'float16', 'float32']).default('int8'),
    /** CTranslate2 intra-op threads (0 = its default). */
    cpuThreads: z.number().int().nonnegative().default(0),
    /**
     * Decodes the worker runs at the same time, one CTranslate2 replica each (about 95 MB more per replica for
     * tiny.en). Default: 2 on a machine with 2 or more cores — on 2 cores two parallel decodes did 12 utterances
     * in 2.9 s against 4.6 s one after another, and a final never waits for another stream's partial to finish.
     */
    parallelDecodes: z.number().int().min(1).max(16).optional(),
    /** Beam width; 5 is faster-whisper's default; the degrade ladder lowers it. */
    beamSize: z.number().int().min(1).max(10).default(5),
    /** Forced language (ISO 639-1); unset = detect (English-only models always use `en`). */
    language: z.string().min(2).optional(),
    /** faster-whisper's own Silero VAD filter inside each chunk. */
    vadFilter: z.boolean().default(false),
    /** Python with faster_whisper installed (default: the host's `pythonPath`). */
    pythonPath: z.string().min(1).optional(),
    /**
     * Most utterances one `decodeBatch` call decodes together (the host batches live streams' utterances up to
     * it); 1 turns batching off.
     */
    maxBatchSize: z.number().int().min(1).max(32).default(8),
    /** Seconds of audio per inference in `transcribe()`. */
    chunkSeconds: z.number().positive().max(30).default(4),
    /** Limit per inference attempt; past it the worker is killed and restarted and the chunk retried once. */
    inferenceTimeoutMs: z.number().int().positive().default(30000),
    /** Limit for starting the worker and loading the model. */
    startTimeoutMs: z.number().int().positive().default(120000),
    /** How long `unload()` waits for a clean worker exit before killing it. */
    shutdownGraceMs: z.number().int().nonnegative().default(5000),
    /** Consecutive restarts without a successful inference before the provider stops restarting (ERROR state). */
    maxRestarts: z.number().int().nonnegative().default(3),
  })
  .strict();

export type FasterWhisperConfig = z.output<typeof fasterWhisperConfigSchema>;
export type FasterWhisperConfigInput = z.input<typeof fasterWhisperConfigSchema>;
