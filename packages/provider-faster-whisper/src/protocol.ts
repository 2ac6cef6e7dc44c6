import { StringDecoder } from 'node:string_decoder';

/**
 * The host side of the worker protocol (the worker side is `worker/worker.py`, which documents the format):
 * binary frames in (uint32 LE header length, JSON header, payload), one JSON object per line out.
 */

/** A segment as the worker sends it (faster-whisper's field names). */
export interface WorkerSegment {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly avg_logprob: number;
  readonly no_speech_prob: number;
  readonly compression_ratio: number;
  readonly words?: readonly { word: string; start: number; end: number; probability: number }[];
}

export interface ReadyMessage {
  readonly type: 'ready';
  readonly pid: number;
  readonly loadMs: number;
  readonly model: { readonly path: string; readonly sha256: string | null; readonly sizeBytes: number | null; readonly multilingual: boolean };
  readonly device: string;
  readonly computeType: string;
  readonly cpuThreads: number;
  /** Requests decoded at the same time. */
  readonly parallel?: number;
  readonly notices: readonly string[];
  readonly versions: Readonly<Record<string, string>>;
}

export interface ResultMessage {
  readonly type: 'result';
  readonly id: number;
  readonly segments: readonly WorkerSegment[];
  readonly language: string | null;
  readonly languageProbability: number | null;
  readonly audioSeconds: number;
  readonly inferMs: number;
}

/** One item of a `transcribe_batch` answer: its result, or why this item alone failed (e.g. INVALID_AUDIO). */
export type BatchItemResult =
  | (Omit<ResultMessage, 'type' | 'id' | 'inferMs'> & {
      /** Items decoded together with it in one encoder + generate call (1: decoded alone through `transcribe`). */
      readonly batchSize: number;
    })
  | { readonly error: { readonly code: string; readonly message: string } };

export interface BatchResultMessage {
  readonly type: 'result_batch';
  readonly id: number;
  readonly items: readonly BatchItemResult[];
  readonly inferMs: number;
}

export type WorkerMessage =
  | ReadyMessage
  | ResultMessage
  | BatchResultMessage
  | { readonly type: 'fatal'; readonly code: string; readonly message: string }
  | { readonly type: 'error'; readonly id: number; readonly code: string; readonly message: string }
  | { readonly type: 'pong' | 'bye'; readonly id: number };

/** Options of one transcribe request (the worker's header fields). */
export interface TranscribeParams {
  readonly beamSize: number;
  readonly language?: string;
  readonly vadFilter: boolean;
  readonly wordTimestamps: boolean;
  readonly prompt?: string;
  /** faster-whisper's long-form conditioning: each 30 s window is prompted with the text decoded before it. */
  readonly conditionOnPreviousText?: boolean;
  /** The encoder window in whole seconds (< 30 shortens it; absent = whisper's 30 s). */
  readonly encoderSeconds?: number;
  /** A provisional result: decoded once at temperature 0 (no fallback), its length bounded by the audio's. */
  readonly draft?: boolean;
}

/** An item's own options in a `transcribe_batch` request (beam size, VAD filter: the batch's). */
export type BatchItemParams = Pick<TranscribeParams, 'language' | 'wordTimestamps' | 'prompt' | 'encoderSeconds'>;

/** Encodes one host → worker frame. `pcm` travels as s16le (half the bytes of float32; the worker converts). */
export function encodeFrame(header: Record<string, unknown>, pcm?: Int16Array): Buffer {
  const payload = pcm ? Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength) : Buffer.alloc(0);
  const json = Buffer.from(JSON.stringify({ ...header, bytes: payload.byteLength, ...(pcm ? { format: 's16le' } : {}) }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.byteLength, 0);
  return Buffer.concat([len, json, payload]);
}

/** Splits a byte stream into lines (a line, or a UTF-8 character, may span chunks). */
export class LineSplitter {
  private pending = '';
  private readonly decoder = new StringDecoder('utf8');

  /** The complete lines in `chunk`, without their newline. */
  push(chunk: Buffer | string): string[] {
    const text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    return lines;
  }

  /** What is left after the stream ended (an unterminated last line). */
  flush(): string | undefined {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    return rest ? rest : undefined;
  }
}

/** Parses one stdout line; undefined for anything that is not a protocol message. */
export function parseMessage(line: string): WorkerMessage | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const msg = JSON.parse(trimmed) as { type?: unknown };
    return typeof msg.type === 'string' ? (msg as WorkerMessage) : undefined;
  } catch {
    return undefined;
  }
}
