import {
  type DecodeBatchItem,
  type DecodeOptions,
  EchoPanelError,
  errorMessage,
  isEchoPanelError,
  rms,
  round3,
  type Segment,
  type TranscribeOptions,
  type TranscriptionEvent,
} from '@echopanel/plugin-api';
import { hallucinationReason, segmentConfidence, type HallucinationGuardOptions, type RawSegment } from './hallucination-guard.js';

/** What a batch engine decodes: one piece of audio, times in the result relative to it. */
export interface DecodeRequest {
  readonly pcm: Int16Array;
  readonly sampleRate: number;
  readonly language?: string;
  readonly wordTimestamps?: boolean;
  readonly prompt?: string;
  /**
   * Decode with the engine's long-form algorithm (its own 30 s windows, each conditioned on the text before it)
   * instead of as one independent utterance.
   */
  readonly longForm?: boolean;
  /** A provisional result (see `DecodeOptions.draft`): speed over accuracy. */
  readonly draft?: boolean;
  readonly signal?: AbortSignal;
  /** Notified of restarts while decoding. */
  readonly onEvent?: (event: TranscriptionEvent) => void;
}

export type ChunkDecodeFn = (request: DecodeRequest) => Promise<RawSegment[]>;

/** An engine's batch call: one result per request, in order. */
export type BatchDecodeFn = (requests: readonly DecodeRequest[]) => Promise<RawSegment[][]>;

export interface ChunkingOptions {
  /**
   * Longest chunk in seconds; a chunk ends at a pause in its second half when there is one. A function is read
   * before every chunk so the degrade ladder can change it mid-stream.
   */
  readonly chunkSeconds: number | (() => number);
  /** A final buffer shorter than this is not sent to the model (default 0.5 s). */
  readonly minFinalSeconds?: number;
  /** A chunk whose RMS is below this is silence and not sent to the model (default 0.01). */
  readonly silenceRms?: number;
  readonly guard?: HallucinationGuardOptions;
  /** Told about segments the guard removed. */
  readonly onFiltered?: (segment: RawSegment, reason: string) => void;
}

const DEFAULT_MIN_FINAL = 0.5;
const DEFAULT_SILENCE_RMS = 0.01;

/**
 * Maps an engine's raw segments to stream segments: absolute times, confidence, language, words; drops
 * hallucinations.
 */
export function toStreamSegments(
  raw: readonly RawSegment[],
  offsetSeconds: number,
  meta: {
    source?: string;
    language?: string;
    /** `false`: keep everything the engine returned but empty text (its own long-form filtering applies). */
    guard?: HallucinationGuardOptions | false;
    onFiltered?: (s: RawSegment, r: string) => void;
    /**
     * Length of the decoded audio. Whisper decodes a 30 s padded window, so its last timestamp can lie past
     * the end of a shorter chunk (and overlap the next one); times are clamped to it when given.
     */
    durationSeconds?: number;
  },
): Segment[] {
  const out: Segment[] = [];
  const clamp = (t: number) => (meta.durationSeconds === undefined ? t : Math.min(Math.max(t, 0), meta.durationSeconds));
  for (const seg of raw) {
    const reason = meta.guard === false ? (seg.text.trim() ? undefined : 'empty') : hallucinationReason(seg, meta.guard);
    if (reason) {
      meta.onFiltered?.(seg, reason);
      continue;
    }
    const confidence = segmentConfidence(seg);
    const language = seg.language ?? meta.language;
    out.push({
      text: seg.text.trim(),
      start: round3(offsetSeconds + clamp(seg.start)),
      end: round3(offsetSeconds + clamp(seg.end)),
      isFinal: true,
      ...(confidence !== undefined ? { confidence: round3(confidence) } : {}),
      ...(language ? { language } : {}),
      ...(meta.source ? { source: meta.source } : {}),
      ...(seg.words
        ? {
            words: seg.words.map((w) => ({
              word: w.word,
              start: round3(offsetSeconds + clamp(w.start)),
              end: round3(offsetSeconds + clamp(w.end)),
              ...(w.probability !== undefined ? { probability: round3(w.probability) } : {}),
            })),
          }
        : {}),
    });
  }
  return out;
}

/**
 * Cuts the stream into chunks of at most chunkSeconds, at a pause where there is one (timestamps from samples
 * processed), skips
 * silent chunks and a too-short final buffer without calling the model, decodes the rest through `decode`,
 * filters hallucinations and reports every sample as transcribed, skipped or dropped (hints the host's
 * accounting takes: it measures and settles the stream itself).
 */
export async function* transcribeInChunks(
  audio: AsyncIterable<Int16Array>,
  opts: TranscribeOptions,
  decode: ChunkDecodeFn,
  chunking: ChunkingOptions,
): AsyncGenerator<Segment> {
  const rate = opts.sampleRate;
  const chunkSamples = () => {
    const s = typeof chunking.chunkSeconds === 'function' ? chunking.chunkSeconds() : chunking.chunkSeconds;
    return Math.max(1, Math.round(s * rate));
  };
  const emit = opts.onEvent ?? (() => undefined);
  // Pre-sized buffer grown by doubling: no per-frame reallocation, bounded by one chunk plus one frame.
  let buf = new Int16Array(chunkSamples() * 2);
  let filled = 0;
  let processed = 0;

  const process = async function* (pcm: Int16Array, isFinal: boolean): AsyncGenerator<Segment> {
    const start = processed / rate;
    const end = (processed + pcm.length) / rate;
    processed += pcm.length;
    if (isFinal && pcm.length < (chunking.minFinalSeconds ?? DEFAULT_MIN_FINAL) * rate) {
      emit({ type: 'skipped', samples: pcm.length, reason: 'too-short', start, end });
      return;
    }
    if (rms(pcm) < (chunking.silenceRms ?? DEFAULT_SILENCE_RMS)) {
      emit({ type: 'skipped', samples: pcm.length, reason: 'silence', start, end });
      return;
    }
    let raw: RawSegment[];
    try {
      raw = await decode({
        pcm,
        sampleRate: rate,
        language: opts.language,
        wordTimestamps: opts.wordTimestamps,
        prompt: opts.prompt,
        signal: opts.signal,
        onEvent: emit,
      });
    } catch (err) {
      if (opts.signal?.aborted) {
        emit({ type: 'dropped', samples: pcm.length, reason: 'aborted', start, end });
        throw err;
      }
      const code = isEchoPanelError(err) ? err.code : 'INFERENCE_FAILED';
      emit({ type: 'error', code, message: errorMessage(err), recovered: false });
      emit({ type: 'dropped', samples: pcm.length, reason: `${code}: ${errorMessage(err)}`, start, end });
      return;
    }
    emit({ type: 'transcribed', samples: pcm.length, start, end });
    yield* toStreamSegments(raw, start, {
      source: opts.source,
      language: opts.language,
      guard: chunking.guard,
      onFiltered: chunking.onFiltered,
      durationSeconds: pcm.length / rate,
    });
  };

  try {
    for await (const frame of audio) {
      if (opts.signal?.aborted) break;
      let off = 0;
      while (off < frame.length) {
        const want = chunkSamples();
        if (buf.length < want) {
          const bigger = new Int16Array(want * 2);
          bigger.set(buf.subarray(0, filled));
          buf = bigger;
        }
        // A shorter chunk length from the ladder can leave more buffered than it: cut without taking more.
        const take = Math.max(0, Math.min(want - filled, frame.length - off));
        buf.set(frame.subarray(off, off + take), filled);
        filled += take;
        off += take;
        if (filled >= want) {
          // The rest after a pause stays for the next chunk.
          const cut = pauseCut(buf.subarray(0, want), rate);
          const chunk = buf.slice(0, cut);
          buf.copyWithin(0, cut, filled);
          filled -= cut;
          yield* process(chunk, false);
        }
      }
    }
    if (filled > 0 && !opts.signal?.aborted) {
      const tail = buf.slice(0, filled);
      filled = 0;
      yield* process(tail, true);
    }
  } finally {
    // Whatever is still buffered when the stream is cancelled is reported, not lost silently.
    if (filled > 0) {
      const start = processed / rate;
      processed += filled;
      emit({ type: 'dropped', samples: filled, reason: 'stream cancelled', start, end: processed / rate });
    }
  }
}

/** Length of the quiet stretch a chunk may be cut in. */
const PAUSE_WINDOW_SECONDS = 0.2;
const PAUSE_STEP_SECONDS = 0.02;
/** A window this much quieter than the chunk as a whole is a pause, not a quiet syllable (-12 dB). */
const PAUSE_RELATIVE_RMS = 0.25;

/**
 * Where to end a full chunk: in the middle of its quietest window in the second half when that is a pause (the
 * last window: at its end), else at its end. Whisper drops or garbles the words a cut splits (at the chunk's end
 * and at the next one's start), and a sentence split in two comes back as two broken finals: blind cuts lose speech.
 */
function pauseCut(pcm: Int16Array, rate: number): number {
  const win = Math.round(PAUSE_WINDOW_SECONDS * rate);
  const step = Math.max(1, Math.round(PAUSE_STEP_SECONDS * rate));
  let best = -1;
  let bestRms = Infinity;
  // Later windows win ties: in a long silence the chunk stays as long as allowed.
  for (let at = Math.floor(pcm.length / 2); at + win <= pcm.length; at += step) {
    const level = rms(pcm.subarray(at, at + win));
    if (level <= bestRms) {
      bestRms = level;
      best = at;
    }
  }
  if (best < 0 || bestRms >= PAUSE_RELATIVE_RMS * rms(pcm)) return pcm.length;
  // A pause that reaches the chunk's end keeps the chunk whole: the next one starts nearer the next speech.
  return best + win + step > pcm.length ? pcm.length : best + Math.floor(win / 2);
}

/** A one-shot decode with the same mapping and guards as the chunked path. */
export async function decodeUtterance(pcm: Int16Array, opts: DecodeOptions, decode: ChunkDecodeFn, guard?: HallucinationGuardOptions): Promise<Segment[]> {
  return decodeMapped(pcm, opts, decode, false, guard);
}

/**
 * Several utterances in one engine call ({@link ASRProvider.decodeBatch}): each mapped and guarded exactly as
 * {@link decodeUtterance} maps it alone. Rejects when the engine returns a result count other than the items'.
 */
export async function decodeUtterances(
  items: readonly DecodeBatchItem[],
  decode: BatchDecodeFn,
  guard?: HallucinationGuardOptions,
): Promise<Segment[][]> {
  const raw = await decode(items.map((item) => utteranceRequest(item.pcm, item.opts, false)));
  if (raw.length !== items.length) {
    throw new EchoPanelError('INFERENCE_FAILED', `the engine returned ${raw.length} results for a batch of ${items.length} utterances`);
  }
  return raw.map((segments, i) => utteranceSegments(segments, items[i].pcm, items[i].opts, guard));
}

/**
 * A whole recording through the engine's long-form decoding ({@link ASRProvider.decodeRecording}): same mapping
 * as {@link decodeUtterance}, no hallucination guard (the floor a user gets from the engine has none either).
 */
export async function decodeLongForm(pcm: Int16Array, opts: DecodeOptions, decode: ChunkDecodeFn): Promise<Segment[]> {
  return decodeMapped(pcm, opts, decode, true, false);
}

async function decodeMapped(
  pcm: Int16Array,
  opts: DecodeOptions,
  decode: ChunkDecodeFn,
  longForm: boolean,
  guard: HallucinationGuardOptions | false | undefined,
): Promise<Segment[]> {
  return utteranceSegments(await decode(utteranceRequest(pcm, opts, longForm)), pcm, opts, guard);
}

function utteranceRequest(pcm: Int16Array, opts: DecodeOptions, longForm: boolean): DecodeRequest {
  return {
    pcm,
    sampleRate: opts.sampleRate,
    language: opts.language,
    wordTimestamps: opts.wordTimestamps,
    prompt: opts.prompt,
    signal: opts.signal,
    ...(longForm ? { longForm } : {}),
    ...(opts.draft ? { draft: true } : {}),
  };
}

function utteranceSegments(raw: readonly RawSegment[], pcm: Int16Array, opts: DecodeOptions, guard: HallucinationGuardOptions | false | undefined): Segment[] {
  return toStreamSegments(raw, opts.offsetSeconds ?? 0, {
    source: opts.source,
    language: opts.language,
    guard,
    durationSeconds: pcm.length / opts.sampleRate,
  });
}
