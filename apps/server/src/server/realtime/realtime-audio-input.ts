import { PcmByteAligner, StreamResampler, decodeAlaw, decodeMulaw } from '@echopanel/core';
import type { RealtimeAudioFormat } from './realtime-session-config.js';

/**
 * A realtime session's input audio (pcm16 at any rate, or G.711 at 8 kHz) → 16 kHz s16 for the stream, with the
 * resampler's state carried across appends. {@link flush} delivers everything appended so far, so a commit or
 * clear placed after it lands exactly after that audio.
 */
export class RealtimeAudioInput {
  private aligner = new PcmByteAligner(2);
  private resampler: StreamResampler;
  /** Input samples (at the format's rate) taken so far. */
  private samples = 0;

  constructor(
    readonly format: RealtimeAudioFormat,
    private readonly targetRate: number,
    private readonly onPcm: (pcm: Int16Array) => void,
  ) {
    this.resampler = new StreamResampler(format.rate, targetRate, onPcm);
  }

  /** Milliseconds of audio appended so far. */
  get appendedMs(): number {
    return (this.samples / this.format.rate) * 1000;
  }

  push(bytes: Uint8Array): void {
    const pcm = this.format.type === 'audio/pcmu' ? decodeMulaw(bytes) : this.format.type === 'audio/pcma' ? decodeAlaw(bytes) : this.aligner.push(bytes);
    this.samples += pcm.length;
    this.resampler.push(pcm);
  }

  /** Delivers what the resampler still holds (its filter flushed as if silence followed) and starts afresh. */
  async flush(): Promise<void> {
    const done = this.resampler;
    this.resampler = new StreamResampler(this.format.rate, this.targetRate, this.onPcm);
    this.aligner = new PcmByteAligner(2);
    await done.end();
  }
}
