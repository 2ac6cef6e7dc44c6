/**
 * A finished recording of 16 kHz mono s16 PCM that is read in ranges, so a long upload need not sit in memory
 * whole (a decoder may back it by a temporary file).
 */
export interface PcmRecording {
  readonly sampleRate: number;
  /** Samples in the recording. */
  readonly length: number;
  /** Samples [start, end) (clamped to the recording). */
  read(start: number, end: number): Promise<Int16Array>;
}

/** A recording held in memory. */
export function pcmRecording(samples: Int16Array, sampleRate = 16000): PcmRecording {
  return {
    sampleRate,
    length: samples.length,
    read: (start, end) => Promise.resolve(samples.subarray(Math.max(0, start), Math.min(samples.length, end))),
  };
}
