/** One analysed window of audio. */
export interface VadWindow {
  /** Speech probability 0..1. */
  readonly probability: number;
  /** Sample offset of the window's first sample from the stream start. */
  readonly startSample: number;
  readonly endSample: number;
}

/** Speech boundaries in samples from the stream start (after padding). */
export type VadEvent =
  | { readonly type: 'speech-start'; readonly sample: number }
  | { readonly type: 'speech-end'; readonly startSample: number; readonly endSample: number };

export interface VadResult {
  readonly windows: readonly VadWindow[];
  readonly events: readonly VadEvent[];
}

/** A streaming voice activity detector for one stream (state is per stream). */
export interface VoiceActivityDetector {
  readonly sampleRate: number;
  /** Samples per analysis window (512 at 16 kHz for Silero). */
  readonly windowSamples: number;
  /** Push PCM of any frame size; returns the windows completed and the events they caused. */
  push(pcm: Int16Array): Promise<VadResult>;
  /** End of stream: closes an open speech segment. */
  flush(): VadResult;
  /** Forget all state (new stream). */
  reset(): void;
  /**
   * Optional: samples before this offset are decided — each lies in a segment whose `speech-start` was already
   * reported, or is silence no later event will claim. Lets a caller (e.g. a VAD filter) release buffered
   * silence while the detector still waits to confirm speech; without it the caller must keep more audio.
   */
  readonly settledSample?: number;
}

export interface VadAvailability {
  readonly available: boolean;
  readonly reason?: string;
}

/** A VAD engine: loads a model once, makes per-stream detectors. */
export interface VadEngine {
  readonly name: string;
  availability(): Promise<VadAvailability>;
  load(): Promise<void>;
  unload(): Promise<void>;
  /** `threshold`: speech probability (0–1) above which a window is speech; the engine's configured one by default. */
  createDetector(options?: { sampleRate?: number; threshold?: number }): VoiceActivityDetector;
}
