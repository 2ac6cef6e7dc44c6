import type { PcmRecording } from '../audio/pcm-recording.js';
import type { VoiceActivityDetector } from '@echopanel/plugin-api';
import { levelDb as windowLevelDb } from './sound-level.js';

/** A range of samples [start, end) on the recording's timeline. */
export interface SampleRange {
  readonly start: number;
  readonly end: number;
}

/** One request to the engine: the kept ranges of the recording, decoded as one piece of audio. */
export interface RecordingPiece {
  readonly spans: readonly SampleRange[];
  /** Samples in the piece (sum of its spans). */
  readonly samples: number;
}

/** How a recording is decoded: pieces in order, and the silence left out of them. */
export interface RecordingPlan {
  readonly pieces: readonly RecordingPiece[];
  readonly removed: readonly SampleRange[];
  /**
   * Where there is speech or sound (by VAD window), when a detector was given: whisper's segment times are
   * coarse (a first segment "starts" at 0 s after seconds of silence), and are moved onto it.
   */
  readonly activity?: { readonly active: Uint8Array; readonly windowSamples: number };
}

export interface RecordingPlanOptions {
  /**
   * Pauses longer than this are shortened to it, half kept on each side so the engine still hears a pause
   * (0 keeps every pause).
   */
  readonly removeSilenceSeconds: number;
  /** Longest piece sent to the engine in one request; longer audio is cut at its quietest point. */
  readonly maxPieceSeconds: number;
}

const READ_BLOCK_SECONDS = 30;
/** A window counts as quiet up to this far above the recording's noise floor … */
const QUIET_ABOVE_FLOOR_DB = 6;
/** … and always at or below this level (a recording of digital silence has no useful floor). */
const QUIET_MIN_DB = -70;

/**
 * Plans a whole-recording transcription: finds where there is speech or sound, the long pauses, and cuts the audio into engine requests of at
 * most `maxPieceSeconds`, at removed pauses where possible and otherwise at the least speech-like window.
 * Speech is never left out: a stretch is removed only where the VAD hears no speech *and* the level stays
 * within 6 dB of the recording's noise floor for longer than `removeSilenceSeconds` — the VAD alone misses voices
 * the engine still hears (a long drawn-out vowel, whispering), the level alone cannot tell speech from noise.
 */
export async function planRecording(
  recording: PcmRecording,
  detector: VoiceActivityDetector | undefined,
  options: RecordingPlanOptions,
): Promise<RecordingPlan> {
  const rate = recording.sampleRate;
  const total = recording.length;
  const scan = detector ? await scanSpeech(recording, detector) : undefined;
  const removable = scan ? removableWindows(scan) : undefined;
  const kept: SampleRange[] = [];
  const removed: SampleRange[] = [];
  let from = 0;
  if (scan && removable && options.removeSilenceSeconds > 0) {
    const n = scan.windowSamples;
    const minRun = Math.ceil((options.removeSilenceSeconds * rate) / n);
    const keepHalf = Math.round((options.removeSilenceSeconds * rate) / 2);
    for (let i = 0; i < removable.length; ) {
      if (!removable[i]) {
        i++;
        continue;
      }
      let j = i;
      while (j < removable.length && removable[j]) j++;
      if (j - i > minRun) {
        const lo = i === 0 ? 0 : i * n + keepHalf;
        const hi = j === removable.length ? total : Math.min(total, j * n) - keepHalf;
        if (hi > lo) {
          if (lo > from) kept.push({ start: from, end: lo });
          removed.push({ start: lo, end: hi });
          from = hi;
        }
      }
      i = j;
    }
  }
  if (from < total) kept.push({ start: from, end: total });

  const maxPiece = Math.max(rate, Math.round(options.maxPieceSeconds * rate));
  const pieces: RecordingPiece[] = [];
  let spans: SampleRange[] = [];
  let samples = 0;
  const close = () => {
    if (samples > 0) pieces.push({ spans, samples });
    spans = [];
    samples = 0;
  };
  for (const span of kept) {
    let start = span.start;
    while (start < span.end) {
      const room = maxPiece - samples;
      if (span.end - start <= room) {
        spans.push({ start, end: span.end });
        samples += span.end - start;
        break;
      }
      // Rather than split this span, start a new piece at the pause before it (if the piece is well filled).
      if (samples >= maxPiece / 2 && start === span.start) {
        close();
        continue;
      }
      const cut = scan ? quietestPoint(scan, start + Math.floor(room * (2 / 3)), start + room) : start + room;
      spans.push({ start, end: cut });
      samples += cut - start;
      close();
      start = cut;
    }
  }
  close();
  const activity = scan && removable ? { active: removable.map((q) => 1 - q), windowSamples: scan.windowSamples } : undefined;
  return { pieces, removed, ...(activity ? { activity } : {}) };
}

interface SpeechScan {
  readonly speech: SampleRange[];
  /** Level of window i in dBFS. */
  readonly levelDb: Float32Array;
  /** Speech probability of VAD window i (samples [i·windowSamples, (i+1)·windowSamples)). */
  readonly probability: Float32Array;
  readonly windowSamples: number;
}

async function scanSpeech(recording: PcmRecording, detector: VoiceActivityDetector): Promise<SpeechScan> {
  const speech: SampleRange[] = [];
  const windowSamples = detector.windowSamples;
  // One float per window (4 h of audio: 1.8 MB), for choosing where to cut a piece.
  const probability = new Float32Array(Math.ceil(recording.length / windowSamples));
  const levelDb = new Float32Array(probability.length);
  let open: number | undefined;
  const take = (result: Awaited<ReturnType<VoiceActivityDetector['push']>>) => {
    for (const w of result.windows) {
      const i = Math.floor(w.startSample / windowSamples);
      if (i < probability.length) probability[i] = w.probability;
    }
    for (const e of result.events) {
      if (e.type === 'speech-start') open ??= e.sample;
      else {
        speech.push({ start: open ?? e.startSample, end: e.endSample });
        open = undefined;
      }
    }
  };
  detector.reset();
  const block = Math.round(READ_BLOCK_SECONDS * recording.sampleRate);
  for (let at = 0; at < recording.length; at += block) {
    const pcm = await recording.read(at, at + block);
    for (let k = 0; k < pcm.length; k += windowSamples) {
      levelDb[Math.floor((at + k) / windowSamples)] = windowLevelDb(pcm.subarray(k, k + windowSamples));
    }
    take(await detector.push(pcm));
  }
  take(detector.flush());
  if (open !== undefined) speech.push({ start: open, end: recording.length });
  detector.reset();
  return { speech, levelDb, probability, windowSamples };
}

/** Windows outside every VAD speech segment whose level is within 6 dB of the noise floor (10th percentile). */
function removableWindows(scan: SpeechScan): Uint8Array {
  const n = scan.windowSamples;
  const out = new Uint8Array(scan.levelDb.length);
  if (out.length === 0) return out;
  const sorted = Float32Array.from(scan.levelDb).sort();
  const quiet = Math.max(sorted[Math.floor(sorted.length * 0.1)] + QUIET_ABOVE_FLOOR_DB, QUIET_MIN_DB);
  for (let i = 0; i < out.length; i++) out[i] = scan.levelDb[i] <= quiet ? 1 : 0;
  for (const s of scan.speech) out.fill(0, Math.floor(s.start / n), Math.ceil(s.end / n));
  return out;
}

/** The middle of the least speech-like VAD window inside [lo, hi) (`hi` when no window fits). */
function quietestPoint(scan: SpeechScan, lo: number, hi: number): number {
  const n = scan.windowSamples;
  let best = -1;
  for (let i = Math.ceil(lo / n); (i + 1) * n <= hi && i < scan.probability.length; i++) {
    if (best < 0 || scan.probability[i] < scan.probability[best]) best = i;
  }
  return best < 0 ? hi : best * n + Math.floor(n / 2);
}
