import { z } from 'zod';
import { DEFAULT_SCHEDULER_SETTINGS } from '../scheduling/decode-scheduler.js';

const degradeSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** RTF at or above which each level is entered. */
    thresholds: z
      .object({
        warning: z.number().positive().default(0.8),
        degrade: z.number().positive().default(1.0),
        emergency: z.number().positive().default(1.2),
        /** RTF must stay below this for `recoveryWindowSeconds` to step one level back. */
        recovery: z.number().positive().default(0.7),
      })
      .strict()
      .prefault({}),
    /** Minimum time at a level before degrading further. */
    minLevelSeconds: z.number().nonnegative().default(10),
    recoveryWindowSeconds: z.number().nonnegative().default(30),
    /** Consecutive provider errors that trigger failover to `asr.fallback`. */
    errorsBeforeFailover: z.number().int().positive().default(3),
  })
  .strict()
  .prefault({});

export const serverConfigSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** Required on every route but /health/live when set; required to bind a non-loopback address. */
    apiKey: z.string().min(1).optional(),
    /** Allowed CORS origins (none by default); also the foreign origins allowed to open streams and post. */
    corsOrigins: z.array(z.string()).default([]),
    /**
     * Host names the server answers to besides localhost, 127.0.0.1, [::1] and `host` (DNS-rebinding guard),
     * e.g. the name a reverse proxy forwards.
     */
    allowedHosts: z.array(z.string().min(1)).default([]),
    limits: z
      .object({
        maxFrameBytes: z.number().int().positive().default(1024 * 1024),
        maxSessions: z.number().int().positive().default(16),
        maxSessionSeconds: z.number().positive().default(4 * 3600),
        maxUploadBytes: z.number().int().positive().default(200 * 1024 * 1024),
        /** Longest audio an upload may hold (decoded duration); longer is 413. Bounds the cost of a small file that decodes to hours. */
        maxUploadSeconds: z.number().positive().default(4 * 3600),
        /** File transcriptions running at once; more wait in the queue. */
        maxConcurrentRequests: z.number().int().positive().default(2),
        /** File transcriptions waiting for a running one to finish; past it requests get 429 with Retry-After. */
        maxQueuedRequests: z.number().int().nonnegative().default(8),
      })
      .strict()
      .prefault({}),
    /** PCM at other sample rates is resampled to 16 kHz (true) or refused (false). */
    resampleOtherRates: z.boolean().default(true),
    /** How long SIGTERM waits for in-flight streams to finish. */
    shutdownGraceMs: z.number().int().nonnegative().default(10000),
    /**
     * After SIGTERM, `/health/ready` answers 503 for this long while the server still serves, so a load balancer
     * takes the replica out before the listener closes (set it above the probe period behind one).
     */
    drainDelayMs: z.number().int().nonnegative().default(0),
    /**
     * Serve HTTPS and WSS with this PEM certificate (chain) and private key; paths relative to the config file.
     * Unset = plain HTTP.
     */
    tls: z
      .object({ certFile: z.string().min(1), keyFile: z.string().min(1) })
      .strict()
      .optional(),
    /** Hot reload of the config file while serving (also on SIGHUP and `POST /v1/admin/reload`). */
    reload: z
      .object({
        /** Reload when the config file or a file it imports changes. */
        watch: z.boolean().default(true),
        /** How long streams that started on a replaced model may keep it before it is unloaded anyway. */
        drainTimeoutMs: z.number().int().nonnegative().default(600000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export const asrConfigSchema = z
  .object({
    /** Provider name from the import map, or 'auto' (capability detection picks). */
    provider: z.string().min(1).default('auto'),
    /** Provider used on failover. */
    fallback: z.string().min(1).optional(),
    language: z.string().min(2).default('en'),
    chunkSeconds: z.number().positive().max(30).default(2),
    /** `vad`: cut at pauses; `fixed`: every chunkSeconds. */
    segmentation: z.enum(['vad', 'fixed']).default('vad'),
    /** Longest VAD segment before a forced cut. */
    maxSegmentSeconds: z.number().positive().max(30).default(15),
    /** Re-decode interval for partial results while speech continues (0 = no partials). */
    partialIntervalSeconds: z.number().nonnegative().default(1),
    /** Streams: audio before the VAD's speech start kept in the utterance (OpenAI's prefix_padding_ms). */
    prefixPaddingSeconds: z.number().min(0).max(2).default(0.3),
    /** Streams: silence that ends an utterance; shorter pauses merge into it (OpenAI's silence_duration_ms). */
    endpointSilenceSeconds: z.number().min(0.1).max(5).default(0.5),
    /** Streams: prompt each utterance with the text of the finals before it. */
    contextPrompt: z.boolean().default(true),
    /** How the streams and uploads sharing one engine take turns on it (finals first; batches where the engine takes them). */
    scheduler: z
      .object({
        /** Decode utterances of several streams in one engine call when the provider can (`maxBatchSize` > 1). */
        batching: z.boolean().default(DEFAULT_SCHEDULER_SETTINGS.batching),
        /** With other streams active, an idle engine waits this long for more utterances to batch. */
        batchWindowMs: z.number().int().min(0).max(1000).default(DEFAULT_SCHEDULER_SETTINGS.batchWindowMs),
        /** Most utterances per engine call (the provider's own maximum caps it too). */
        maxBatchSize: z.number().int().min(1).max(64).default(DEFAULT_SCHEDULER_SETTINGS.maxBatchSize),
        /** A partial or decode-ahead that waited longer than this for the engine is skipped. */
        optionalMaxWaitMs: z.number().int().positive().default(DEFAULT_SCHEDULER_SETTINGS.optionalMaxWaitMs),
      })
      .strict()
      .prefault({}),
    /** Uploads and `echopanel transcribe`: the engine's own long-form decoding of the whole recording. */
    file: z
      .object({
        /** Pauses (no speech, near the noise floor) longer than this are shortened to it before decoding (0 = decode every sample). */
        removeSilenceSeconds: z.number().nonnegative().default(4),
        /** Longest audio per engine request; a longer recording is cut at a pause, each piece prompted with the text before. */
        maxPieceSeconds: z.number().min(30).default(300),
      })
      .strict()
      .prefault({}),
    warmupLevel: z.union([z.literal(1), z.literal(2), z.literal(3)]).default(2),
    initTimeoutMs: z.number().int().positive().default(300000),
    /** A model that ends in ERROR (failed load or warmup, engine gone) is retried with capped exponential backoff. */
    recovery: z
      .object({
        enabled: z.boolean().default(true),
        initialDelayMs: z.number().int().positive().default(1000),
        maxDelayMs: z.number().int().positive().default(60000),
      })
      .strict()
      .prefault({}),
    degrade: degradeSchema,
  })
  .strict()
  .prefault({});

export const vadConfigSchema = z
  .object({
    provider: z.string().min(1).default('silero'),
    enabled: z.boolean().default(true),
    /** The VAD plugin's own slice, validated by its schema. */
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .strict()
  .prefault({});

export const modelsConfigSchema = z
  .object({
    /** Model store (default ECHOPANEL_MODEL_DIR or ~/.cache/echopanel/models). */
    dir: z.string().optional(),
    /** Download missing models (default: true unless CI). */
    allowDownload: z.boolean().optional(),
    /**
     * Unload the model after this long without a stream or request (0 = never); the next request loads it again
     * and `/health` stays 200 meanwhile. Default: 0 for faster-whisper (the embedded default), 600 for other providers.
     */
    idleUnloadSeconds: z.number().nonnegative().optional(),
    /**
     * Models (`provider:model` ids of `GET /v1/models`) made ready at start: their weights resolved into the store
     * (downloaded, converted, verified) so a later switch to one only has to load it.
     */
    preload: z.array(z.string().min(1)).default([]),
    /**
     * Memory a model load may use, for the `INSUFFICIENT_MEMORY` check of `POST /v1/models/{id}/load` (default:
     * what the machine has available now: MemAvailable, or the container limit).
     */
    availableMemoryBytes: z.number().int().positive().optional(),
  })
  .strict()
  .prefault({});

/** Batch transcription jobs (`/v1/jobs`): on a shared Redis (BullMQ) when `redisUrl` is set, else in-process. */
export const jobsConfigSchema = z
  .object({
    /** The jobs API and a worker on this server. */
    enabled: z.boolean().default(true),
    /** `redis://[user:pass@]host:port[/db]` or `rediss://`: every server on it shares one queue. Unset = an in-process queue. */
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\/[^\s]+$/, 'must be a redis:// or rediss:// URL')
      .optional(),
    /** Where job audio is kept (outside Redis); relative to the config file. With `redisUrl`, a directory every replica mounts. */
    storageDir: z.string().min(1).optional(),
    /** Jobs this server transcribes at once. */
    concurrency: z.number().int().positive().max(64).default(1),
    /** Finished jobs (their audio and result) are kept this long. */
    retainSeconds: z.number().int().positive().default(86400),
    /** Tries per job; transient failures (engine not ready or crashed, timeouts) retry with exponential backoff, bad audio never. */
    attempts: z.number().int().positive().max(20).default(3),
    /** First retry delay; each next one doubles. */
    backoffMs: z.number().int().positive().default(2000),
    /** A worker that stops renewing its job's lock this long (killed, partitioned) loses it to another replica. */
    stalledSeconds: z.number().positive().default(30),
    /** Tries to deliver a `callback_url` POST (exponential backoff from `backoffMs`). */
    callbackAttempts: z.number().int().positive().max(20).default(5),
  })
  .strict()
  .refine((j) => !j.redisUrl || j.storageDir !== undefined, {
    message: 'jobs.storageDir is required with jobs.redisUrl: every replica reads job audio from that shared directory',
    path: ['storageDir'],
  })
  .prefault({});

/** The whole config file. */
export const configSchema = z
  .object({
    server: serverConfigSchema,
    asr: asrConfigSchema,
    vad: vadConfigSchema,
    models: modelsConfigSchema,
    jobs: jobsConfigSchema,
    /** Import-map additions/overrides: plugin name → package name or path (relative to the config file). */
    plugins: z.record(z.string().min(1), z.string().min(1)).default({}),
    /** Per-provider config slices, validated by each plugin's own schema. */
    providers: z.record(z.string().min(1), z.record(z.string(), z.unknown())).default({}),
  })
  .strict();

/** What a user writes (every field optional where a default exists). */
export type EchoPanelConfigInput = z.input<typeof configSchema>;

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The loaded config: validated, defaulted, frozen. */
export type ResolvedConfig = DeepReadonly<z.output<typeof configSchema>>;
