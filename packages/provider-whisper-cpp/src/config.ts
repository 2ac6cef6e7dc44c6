import os from 'node:os';
import { z } from 'zod';
import type { Device } from '@echopanel/plugin-api';

/** The provider's slice of config (`providers.whisper-cpp`). */
export const whisperCppConfigSchema = z.object({
  /** Catalog name (`tiny.en`, looked up as `ggml-tiny.en.bin`) or a path to a ggml file. */
  model: z.string().min(1).default('tiny.en'),
  /** `auto` → Metal on Apple Silicon, else CPU. */
  device: z.enum(['auto', 'cpu', 'metal', 'cuda']).default('auto'),
  /** Threads per inference; default min(4, cores) on a GPU, min(8, cores) on CPU. */
  threads: z.number().int().min(1).max(256).optional(),
  /** ISO 639-1 code; default `en` for `.en` models, else auto-detect. A request's language wins. */
  language: z.string().min(2).optional(),
  /**
   * 1 = greedy decoding, > 1 = beam search with this width. Default 5, as faster-whisper: greedy tiny.en
   * garbles about twice as many words on synthetic speech (see README); the degrade ladder can lower it.
   */
  beamSize: z.number().int().min(1).max(16).default(5),
  /** Free the model after this many idle seconds (reloaded on the next request); 0 keeps it resident. */
  offloadSeconds: z.number().min(0).default(0),
  /** Seconds of audio per inference in `transcribe`. */
  chunkSeconds: z.number().min(0.5).max(30).default(4),
  /** Per-inference limit; past it the chunk is dropped and the native context is replaced. */
  inferenceTimeoutMs: z.number().int().min(100).default(30_000),
  /** Inferences running at once on the shared model (one whisper_state each); more wait in a queue. */
  maxParallel: z.number().int().min(1).max(16).default(1),
}).strict();

export type WhisperCppConfigInput = z.input<typeof whisperCppConfigSchema>;
export type WhisperCppConfig = z.output<typeof whisperCppConfigSchema>;

/** The device to use: `auto` is Metal on macOS arm64, else CPU. */
export function resolveDevice(device: WhisperCppConfig['device'], platform = process.platform, arch = process.arch): Device {
  if (device === 'auto') return platform === 'darwin' && arch === 'arm64' ? 'metal' : 'cpu';
  return device;
}

/** Fewer CPU threads when a GPU does the work. */
export function defaultThreads(device: Device, cores = availableCores()): number {
  return Math.max(1, Math.min(device === 'cpu' ? 8 : 4, cores));
}

export function availableCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}
