import { EchoPanelError, transcribeRecording, type ASRProvider, type PcmRecording, type RecordingTranscription, type ResolvedConfig, type VoiceActivityDetector } from '@echopanel/core';

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
 * Transcribes an uploaded or local recording as the config says: the provider's whole-recording decoding where it
 * has one (long pauses left out per `asr.file`), else the live-stream pipeline's segmentation.
 */
export function transcribeFile(recording: PcmRecording, options: FileTranscribeOptions): Promise<RecordingTranscription> {
  const { asr } = options;
  return transcribeRecording(recording, {
    provider: options.provider,
    detector: options.detector,
    language: options.language ?? asr.language,
    prompt: options.prompt,
    wordTimestamps: options.wordTimestamps,
    signal: options.signal,
    removeSilenceSeconds: asr.file.removeSilenceSeconds,
    maxPieceSeconds: asr.file.maxPieceSeconds,
    segmentation: asr.segmentation,
    maxSegmentSeconds: asr.maxSegmentSeconds,
    chunkSeconds: asr.chunkSeconds,
    onDecode: options.onDecode,
  });
}

/** A transcription that lost every piece to engine errors is that error, not an empty transcript. */
export function assertTranscribed(result: RecordingTranscription): void {
  if (result.stats.droppedSamples > 0 && result.segments.length === 0 && result.errors.length > 0) {
    const e = result.errors[result.errors.length - 1];
    throw new EchoPanelError(e.code, `transcription failed: ${e.message}`);
  }
}
