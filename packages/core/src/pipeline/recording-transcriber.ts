import type { PcmRecording } from '../audio/pcm-recording.js';
import {
  type ASRProvider,
  EchoPanelError,
  errorMessage,
  isEchoPanelError,
  round3,
  type Segment,
  type VoiceActivityDetector,
  type Word,
} from '@echopanel/plugin-api';
import { planRecording, type RecordingPiece, type RecordingPlan } from './recording-plan.js';
import type { StreamStats } from './stream-events.js';
import { StreamSession, type SegmentationMode } from './stream-session.js';

/** A transcribed recording: finals in time order, the sample accounting, and what went wrong along the way. */
export interface RecordingTranscription {
  readonly segments: Segment[];
  readonly stats: StreamStats;
  readonly errors: { code: string; message: string }[];
}

export interface RecordingTranscribeOptions {
  readonly provider: ASRProvider;
  /** Finds the long pauses to leave out (and, for providers without whole-recording decoding, the utterances). */
  readonly detector?: VoiceActivityDetector;
  readonly language?: string;
  readonly prompt?: string;
  readonly wordTimestamps?: boolean;
  readonly signal?: AbortSignal;
  /** Pauses longer than this are shortened to it before decoding (0 keeps the audio whole; default 4). */
  readonly removeSilenceSeconds?: number;
  /** Longest audio per engine request (default 300 s); pieces after the first are prompted with the text before. */
  readonly maxPieceSeconds?: number;
  /** For providers without {@link ASRProvider.decodeRecording}: how the stream path segments (default `vad`). */
  readonly segmentation?: SegmentationMode;
  readonly maxSegmentSeconds?: number;
  readonly chunkSeconds?: number;
  /** Told about every engine request (wall time, audio seconds). */
  readonly onDecode?: (ms: number, audioSeconds: number) => void;
}

/** Characters of the text before a piece given to the engine as its prompt (whisper keeps ~224 tokens). */
const PROMPT_CHARS = 600;

/**
 * Transcribes a finished recording. A provider that decodes whole recordings gets them through
 * {@link ASRProvider.decodeRecording}: the engine's own long-form decoding, as good as calling the engine on the
 * file, with only the middle of long pauses left out (timestamps stay on the recording's timeline). Other
 * providers get the recording through the live-stream pipeline, without partials or a backlog limit. Every
 * sample ends up transcribed, silence or dropped (with a reason).
 */
export async function transcribeRecording(recording: PcmRecording, options: RecordingTranscribeOptions): Promise<RecordingTranscription> {
  const { provider } = options;
  if (typeof provider.decodeRecording === 'function' && provider.capabilities.recording === true) {
    return decodeWholeRecording(recording, options);
  }
  return streamRecording(recording, options);
}

async function decodeWholeRecording(recording: PcmRecording, options: RecordingTranscribeOptions): Promise<RecordingTranscription> {
  const rate = recording.sampleRate;
  const plan = await planRecording(recording, options.detector, {
    removeSilenceSeconds: options.removeSilenceSeconds ?? 4,
    maxPieceSeconds: options.maxPieceSeconds ?? 300,
  });
  const segments: Segment[] = [];
  const errors: { code: string; message: string }[] = [];
  const dropReasons: Record<string, number> = {};
  let transcribed = 0;
  let dropped = 0;
  let textless = 0;
  let previousText = '';
  for (const piece of plan.pieces) {
    if (options.signal?.aborted) {
      const reason = abortReason(options.signal);
      dropReasons[reason] = (dropReasons[reason] ?? 0) + piece.samples;
      dropped += piece.samples;
      continue;
    }
    const prompt = [options.prompt, previousText.slice(-PROMPT_CHARS)].filter(Boolean).join(' ') || undefined;
    const started = performance.now();
    try {
      const pcm = await readPiece(recording, piece);
      const decoded = await options.provider.decodeRecording!(pcm, {
        sampleRate: rate,
        ...(options.language ? { language: options.language } : {}),
        ...(prompt ? { prompt } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.wordTimestamps ? { wordTimestamps: true } : {}),
      });
      options.onDecode?.(performance.now() - started, piece.samples / rate);
      const mapped = decoded.filter((s) => s.text.trim()).map((s) => snapToActivity(toRecordingTime(s, piece, rate), plan, rate));
      segments.push(...mapped);
      if (mapped.length === 0) textless++;
      transcribed += piece.samples;
      previousText = `${previousText} ${mapped.map((s) => s.text).join(' ')}`.trim();
    } catch (err) {
      const code = options.signal?.aborted ? 'ABORTED' : isEchoPanelError(err) ? err.code : 'INFERENCE_FAILED';
      const reason = options.signal?.aborted ? abortReason(options.signal) : code;
      if (!options.signal?.aborted) errors.push({ code, message: errorMessage(err) });
      dropReasons[reason] = (dropReasons[reason] ?? 0) + piece.samples;
      dropped += piece.samples;
    }
  }
  const silence = plan.removed.reduce((n, r) => n + (r.end - r.start), 0);
  return {
    segments,
    errors,
    stats: {
      receivedSamples: recording.length,
      transcribedSamples: transcribed,
      silenceSamples: silence,
      droppedSamples: dropped,
      pendingSamples: 0,
      finals: segments.length,
      textlessUtterances: textless,
      partials: 0,
      dropReasons,
    },
  };
}

async function readPiece(recording: PcmRecording, piece: RecordingPiece): Promise<Int16Array> {
  if (piece.spans.length === 1) return recording.read(piece.spans[0].start, piece.spans[0].end);
  const pcm = new Int16Array(piece.samples);
  let at = 0;
  for (const span of piece.spans) {
    pcm.set(await recording.read(span.start, span.end), at);
    at += span.end - span.start;
  }
  return pcm;
}

/** Maps times in the decoded piece (its spans back to back) onto the recording's timeline. */
function toRecordingTime(segment: Segment, piece: RecordingPiece, rate: number): Segment {
  const map = (t: number, isEnd: boolean) => {
    let offset = Math.round(t * rate);
    for (const span of piece.spans) {
      const length = span.end - span.start;
      // An end exactly at a splice belongs to the span before it, a start to the span after it.
      if (offset < length || (isEnd && offset === length)) return round3((span.start + offset) / rate);
      offset -= length;
    }
    return round3(piece.spans[piece.spans.length - 1].end / rate);
  };
  const words = segment.words?.map((w): Word => ({ ...w, start: map(w.start, false), end: map(w.end, true) }));
  return { ...segment, isFinal: true, start: map(segment.start, false), end: map(segment.end, true), ...(words ? { words } : {}) };
}

/** Sound kept before a segment's first active window and after its last. */
const SNAP_PAD_SECONDS = 0.1;

/**
 * Moves a segment's start forward to its first window of speech or sound, and its end back to its last (plus a
 * little padding), when the engine's times enclose silence. Word times are the engine's own and stay.
 */
function snapToActivity(segment: Segment, plan: RecordingPlan, rate: number): Segment {
  if (!plan.activity) return segment;
  const { active, windowSamples: n } = plan.activity;
  const lo = Math.max(0, Math.floor((segment.start * rate) / n));
  const hi = Math.min(active.length, Math.ceil((segment.end * rate) / n));
  let first = -1;
  let last = -1;
  for (let i = lo; i < hi; i++) {
    if (!active[i]) continue;
    if (first < 0) first = i;
    last = i;
  }
  if (first < 0) return segment;
  const start = Math.max(segment.start, round3((first * n) / rate - SNAP_PAD_SECONDS));
  const end = Math.min(segment.end, round3(((last + 1) * n) / rate + SNAP_PAD_SECONDS));
  return end > start ? { ...segment, start, end } : segment;
}

/** The live-stream pipeline over a finished recording, in 100 ms frames as a live client would send them. */
async function streamRecording(recording: PcmRecording, options: RecordingTranscribeOptions): Promise<RecordingTranscription> {
  const segments: Segment[] = [];
  const errors: { code: string; message: string }[] = [];
  const session = new StreamSession({
    provider: options.provider,
    detector: options.detector,
    segmentation: options.segmentation ?? 'vad',
    sampleRate: recording.sampleRate,
    language: options.language,
    prompt: options.prompt,
    maxSegmentSeconds: options.maxSegmentSeconds,
    partialIntervalSeconds: 0,
    chunkSeconds: options.chunkSeconds,
    maxBacklogSeconds: recording.length / recording.sampleRate + 1,
    wordTimestamps: options.wordTimestamps,
    onDecode: options.onDecode,
    onEvent: (e) => {
      if (e.type === 'final') segments.push(e.segment);
      else if (e.type === 'error') errors.push({ code: e.code, message: e.message });
    },
  });
  const onAbort = () => void session.abort(abortReason(options.signal!));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const frame = recording.sampleRate / 10;
    for (let i = 0; i < recording.length && !session.isAborted; i += frame) session.push(await recording.read(i, i + frame));
    const stats = await session.end();
    segments.sort((a, b) => a.start - b.start);
    return { segments, stats, errors };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return r instanceof EchoPanelError ? r.message : 'request cancelled';
}
