import type { ProviderHealthReport } from '../health/provider-health.js';
import type { ErrorCode } from '../errors/echopanel-error.js';

/** Compute device a provider can run on. */
export type Device = 'cpu' | 'cuda' | 'metal';

/** What a provider can do; the host uses it to route and to describe providers in `/capabilities`. */
export interface ProviderCapabilities {
  /** Emits segments while audio is still arriving (otherwise only after each chunk is complete). */
  readonly streaming: boolean;
  /** Emits `isFinal: false` segments that a later segment replaces. */
  readonly partialResults: boolean;
  readonly wordTimestamps: boolean;
  /** ISO 639-1 codes, or `'multilingual'`. */
  readonly languages: readonly string[] | 'multilingual';
  readonly devices: readonly Device[];
  /** Implements {@link ASRProvider.decode} (one-shot decoding of a finished utterance). */
  readonly decode?: boolean;
  /** Implements {@link ASRProvider.decodeRecording} (the engine's own long-form decoding of a whole recording). */
  readonly recording?: boolean;
  /** Most utterances one {@link ASRProvider.decodeBatch} call takes; implements it when above 1. */
  readonly maxBatchSize?: number;
  /**
   * One-shot calls (`decode`, `decodeBatch`, `decodeRecording`) the provider runs at the same time, e.g. one per
   * engine replica (default 1: the host makes them one after another).
   */
  readonly parallelDecodes?: number;
}

/** Whether a provider can run here, and if not exactly why and how to fix it. */
export interface Availability {
  readonly available: boolean;
  /** Why not, in words a user can act on (e.g. "python module faster_whisper not importable"). */
  readonly reason?: string;
  /** What to do about it (e.g. the pip command). */
  readonly hint?: string;
  /**
   * The root cause's code when it has one (MODEL_NOT_FOUND, MODEL_CORRUPT, …); hosts report it instead of
   * PROVIDER_UNAVAILABLE.
   */
  readonly code?: ErrorCode;
}

/** Where the audio comes from; several sources may share one session. */
export type AudioSource = 'mic' | 'system' | (string & {});

export interface Word {
  readonly word: string;
  /** Seconds from the stream's first sample. */
  readonly start: number;
  readonly end: number;
  readonly probability?: number;
}

/** A piece of transcript. Times are seconds from the stream's first sample. */
export interface Segment {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** `false` for a partial result that a later segment over the same audio replaces. */
  readonly isFinal: boolean;
  /** 0..1 */
  readonly confidence?: number;
  readonly language?: string;
  readonly source?: AudioSource;
  readonly words?: readonly Word[];
}

/**
 * Events a provider may report about the audio of one `transcribe` call besides segments; all are optional hints.
 * The host accounts for every sample itself (received = transcribed + skipped + dropped): audio the provider
 * consumed is transcribed unless it reported it `skipped` (silence or a too-short tail, never sent to the engine)
 * or `dropped` (lost, with a reason); `transcribed` events are accepted and change nothing. `restart` and `error`
 * (a failure the provider recovered from, or one that ends the stream) are shown to the client and logged.
 */
export type TranscriptionEvent =
  | { readonly type: 'transcribed'; readonly samples: number; readonly start: number; readonly end: number }
  | {
      readonly type: 'skipped';
      readonly samples: number;
      readonly reason: 'silence' | 'too-short';
      readonly start: number;
      readonly end: number;
    }
  | { readonly type: 'dropped'; readonly samples: number; readonly reason: string; readonly start: number; readonly end: number }
  | { readonly type: 'restart'; readonly reason: string }
  | { readonly type: 'error'; readonly code: string; readonly message: string; readonly recovered: boolean };

export interface TranscribeOptions {
  /** Sample rate of the incoming PCM (mono s16le). Providers accept 16000; the host resamples before. */
  readonly sampleRate: number;
  readonly language?: string;
  readonly source?: AudioSource;
  readonly signal?: AbortSignal;
  readonly wordTimestamps?: boolean;
  /** Text that conditions the decoder (OpenAI `prompt`). */
  readonly prompt?: string;
  /** Optional accounting hints and recovery events (see {@link TranscriptionEvent}); never required. */
  readonly onEvent?: (event: TranscriptionEvent) => void;
}

/** Options of a one-shot {@link ASRProvider.decode}. */
export interface DecodeOptions {
  readonly sampleRate: number;
  readonly language?: string;
  readonly source?: AudioSource;
  readonly signal?: AbortSignal;
  readonly wordTimestamps?: boolean;
  readonly prompt?: string;
  /** Seconds added to every timestamp (the utterance's offset in its stream). */
  readonly offsetSeconds?: number;
  /**
   * A provisional result that a later decode of the same audio replaces (a stream's partial): the provider may
   * trade accuracy for speed, e.g. greedy search and a shorter encoder window.
   */
  readonly draft?: boolean;
}

/** One utterance of an {@link ASRProvider.decodeBatch} call, with its own options (prompt, offset, …). */
export interface DecodeBatchItem {
  readonly pcm: Int16Array;
  readonly opts: DecodeOptions;
}

/** Identity of the weights a provider has loaded. */
export interface ModelIdentity {
  readonly name: string;
  readonly format: string;
  readonly version?: string;
  readonly sha256?: string;
  readonly path?: string;
  readonly sizeBytes?: number;
  readonly source?: string;
}

/**
 * Knobs the degrade ladder turns through the contract. A provider applies what it supports and returns what it
 * actually applied (so the ladder's view matches reality).
 */
export interface RuntimeTuning {
  readonly chunkSeconds?: number;
  readonly beamSize?: number;
  /** A smaller model (catalog name or path). */
  readonly model?: string;
}

/**
 * A speech-to-text engine. Created by a plugin's `create`, owned by the registry.
 * `load()` is idempotent; `unload()` releases the model's memory (and a later `load()` brings it back).
 */
export interface ASRProvider {
  readonly name: string;
  readonly capabilities: ProviderCapabilities;
  availability(): Promise<Availability>;
  load(): Promise<void>;
  unload(): Promise<void>;
  /**
   * Streams segments for a stream of mono s16le PCM frames of any size. Pull the next frame only when ready for
   * it: the host times the provider from handing it a frame until it asks for the next (its RTF), and counts the
   * audio up to the end of each final segment as transcribed (its lag and accounting).
   */
  transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncIterable<Segment>;
  /** One-shot decode of a complete utterance (when `capabilities.decode`): used for VAD segments and partials. */
  decode?(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]>;
  /**
   * Decodes up to `capabilities.maxBatchSize` utterances (usually of different streams) in one engine call.
   * Resolves with one result per item, in order, each the words `decode` gives for that item alone; rejects
   * when the engine fails (the host then decodes the items one by one). Items' signals may be ignored once the
   * batch runs.
   */
  decodeBatch?(items: readonly DecodeBatchItem[]): Promise<Segment[][]>;
  /**
   * Decodes a whole recording (minutes long) with the engine's own long-form algorithm — its windows and its
   * conditioning on the text decoded so far — as a user calling the engine on the file would get it (when
   * `capabilities.recording`). The host uses it for uploads and `echopanel transcribe`; no hallucination
   * filtering beyond the engine's own.
   */
  decodeRecording?(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]>;
  /**
   * What only the provider knows about itself (memory, worker pid, restarts, extras); optional, every field
   * optional. The host measures RTF, latency, backlog and sample accounting itself and validates this report.
   */
  health?(): ProviderHealthReport;
  /** What weights are loaded (or would be). */
  modelInfo?(): ModelIdentity | undefined;
  /** Apply degrade-ladder tuning; returns what was applied. */
  tune?(tuning: RuntimeTuning): Promise<RuntimeTuning>;
  /** The tunable settings in force (what a later `tune()` must pass to put them back); implement with `tune`. */
  tuning?(): RuntimeTuning;
  /** Final release when the registry disposes the instance (defaults to `unload`). */
  dispose?(): Promise<void>;
}
