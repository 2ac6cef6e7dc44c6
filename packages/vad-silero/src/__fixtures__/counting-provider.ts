import type {
  ASRProvider,
  Availability,
  DecodeOptions,
  ProviderCapabilities,
  ProviderHealth,
  Segment,
  TranscribeOptions,
} from '@echopanel/plugin-api';

/**
 * The outside boundary of a filter test: an ASR engine that transcribes nothing but records exactly which
 * samples reached it, and how. `decode` (when enabled) takes `msPerAudioSecond` of real time per second of audio,
 * so the filter's "inference time saved" has a known cost to measure.
 */
export class CountingProvider implements ASRProvider {
  readonly name = 'counting';
  readonly capabilities: ProviderCapabilities;
  readonly decode?: (pcm: Int16Array, opts: DecodeOptions) => Promise<Segment[]>;
  /** Every `decode` call: the samples and the offset it was told. */
  readonly decodes: Array<{ pcm: Int16Array; offsetSeconds: number }> = [];
  /** Every `transcribe` call: the frames it read, in order. */
  readonly streams: Int16Array[][] = [];
  loads = 0;

  constructor(options: { decode: boolean; msPerAudioSecond?: number }) {
    this.capabilities = { streaming: true, partialResults: false, wordTimestamps: false, languages: ['en'], devices: ['cpu'], decode: options.decode };
    const cost = options.msPerAudioSecond ?? 0;
    if (options.decode) {
      this.decode = async (pcm, opts) => {
        this.decodes.push({ pcm: pcm.slice(), offsetSeconds: opts.offsetSeconds ?? 0 });
        await new Promise((r) => setTimeout(r, (pcm.length / opts.sampleRate) * cost));
        const start = opts.offsetSeconds ?? 0;
        return [{ text: `utterance ${this.decodes.length}`, start, end: start + pcm.length / opts.sampleRate, isFinal: true }];
      };
    }
  }

  async availability(): Promise<Availability> {
    return { available: true };
  }

  async load(): Promise<void> {
    this.loads++;
  }

  async unload(): Promise<void> {}

  /** One segment per frame read, on the timeline of what it read; every sample reported `transcribed`. */
  async *transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncGenerator<Segment> {
    const frames: Int16Array[] = [];
    this.streams.push(frames);
    let at = 0;
    for await (const frame of audio) {
      frames.push(frame.slice());
      const start = at / opts.sampleRate;
      at += frame.length;
      const end = at / opts.sampleRate;
      opts.onEvent?.({ type: 'transcribed', samples: frame.length, start, end });
      yield { text: `frame ${frames.length}`, start, end, isFinal: true };
    }
  }

  health(): ProviderHealth {
    return {
      provider: this.name,
      state: 'READY',
      rtf: 0,
      avgInferMs: 0,
      p50InferMs: 0,
      p95InferMs: 0,
      p99InferMs: 0,
      inferences: this.decodes.length,
      backlog: 0,
      droppedChunks: 0,
      modelResident: true,
      consecutiveErrors: 0,
      restarts: 0,
      memory: { processRssBytes: process.memoryUsage().rss, workerRssBytes: 0 },
      sessions: { active: 0, total: 0, receivedSamples: 0, transcribedSamples: 0, skippedSamples: 0, droppedSamples: 0 },
    };
  }
}
