import { StreamSession, type ASRProvider, type Segment, type StreamStats, type VoiceActivityDetector } from '@echopanel/core';
import type { ResolvedConfig } from '@echopanel/core';

export interface FileTranscription {
  readonly segments: Segment[];
  readonly stats: StreamStats;
  readonly errors: { code: string; message: string }[];
}

export interface FileTranscribeOptions {
  readonly provider: ASRProvider;
  readonly detector?: VoiceActivityDetector;
  readonly asr: ResolvedConfig['asr'];
  readonly language?: string;
  readonly prompt?: string;
  readonly wordTimestamps?: boolean;
  readonly signal?: AbortSignal;
  readonly onDecode?: (ms: number, audioSeconds: number) => void;
}

/**
 * Transcribes a whole 16 kHz recording through the same pipeline as live streams (so files and streams segment
 * alike), without partials and without a backlog limit (the audio is already in memory).
 */
export async function transcribePcm(pcm: Int16Array, options: FileTranscribeOptions): Promise<FileTranscription> {
  const segments: Segment[] = [];
  const errors: { code: string; message: string }[] = [];
  const session = new StreamSession({
    provider: options.provider,
    detector: options.detector,
    segmentation: options.asr.segmentation,
    sampleRate: 16000,
    language: options.language ?? options.asr.language,
    prompt: options.prompt,
    maxSegmentSeconds: options.asr.maxSegmentSeconds,
    partialIntervalSeconds: 0,
    chunkSeconds: options.asr.chunkSeconds,
    maxBacklogSeconds: pcm.length / 16000 + 1,
    wordTimestamps: options.wordTimestamps,
    onDecode: options.onDecode,
    onEvent: (e) => {
      if (e.type === 'final') segments.push(e.segment);
      else if (e.type === 'error') errors.push({ code: e.code, message: e.message });
    },
  });
  const onAbort = () => void session.abort('request cancelled');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // Frames of 100 ms, as a live client would send them.
    for (let i = 0; i < pcm.length && !session.isAborted; i += 1600) session.push(pcm.subarray(i, Math.min(pcm.length, i + 1600)));
    const stats = await session.end();
    segments.sort((a, b) => a.start - b.start);
    return { segments, stats, errors };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
