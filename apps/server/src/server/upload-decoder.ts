import { EchoPanelError, decodeAudioFile, probeAudioFile, type DecodedRecording } from '@echopanel/core';

export interface UploadDecodeOptions {
  /** `server.resampleOtherRates`: false refuses audio that is not 16 kHz. */
  readonly resampleOtherRates: boolean;
  /** `server.limits.maxUploadSeconds`. */
  readonly maxUploadSeconds: number;
  /** Where the decoded PCM goes. */
  readonly tmpDir: string;
  readonly signal?: AbortSignal;
}

/**
 * An uploaded file as the engine takes it (16 kHz mono, file-backed), under the server's upload rules: the same
 * for `/v1/audio/transcriptions` and batch jobs. Bad audio is a 4xx-class EchoPanelError (see decodeAudioFile).
 */
export async function decodeUpload(file: string, options: UploadDecodeOptions): Promise<DecodedRecording> {
  const source = await probeAudioFile(file, { signal: options.signal });
  if (source.sampleRate !== 16000 && !options.resampleOtherRates) {
    throw new EchoPanelError('UNSUPPORTED_SAMPLE_RATE', `the audio is ${source.sampleRate} Hz; this server accepts 16000 Hz only (server.resampleOtherRates is false)`);
  }
  return decodeAudioFile(file, { source, maxSeconds: options.maxUploadSeconds, signal: options.signal, tmpDir: options.tmpDir });
}
