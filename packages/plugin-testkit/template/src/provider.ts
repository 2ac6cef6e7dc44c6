import {
  EchoPanelError,
  type ASRProvider,
  type Availability,
  type DecodeOptions,
  type PluginContext,
  type ProviderCapabilities,
  type Segment,
  type TranscribeOptions,
} from '@echopanel/plugin-api';
import { BLOCK, DtmfDecoder, SAMPLE_RATE, type Utterance } from './dtmf.js';
import { PROVIDER_NAME, type ProviderConfig } from './config.js';

/**
 * The provider: what the host calls. It owns the engine's lifecycle (load/unload), turns frames of any size into
 * the engine's blocks, ends streams on abort and on unload, and reports errors with a code.
 */
export class DtmfProvider implements ASRProvider {
  readonly name: string = PROVIDER_NAME;
  readonly capabilities: ProviderCapabilities = {
    streaming: true,
    partialResults: false,
    wordTimestamps: false,
    languages: 'multilingual',
    devices: ['cpu'],
    decode: true,
  };
  private loaded = false;
  /** Bumped by unload(): a stream started before it ends with ABORTED instead of running on an unloaded engine. */
  private generation = 0;

  constructor(
    private readonly config: ProviderConfig,
    private readonly ctx: PluginContext,
  ) {}

  async availability(): Promise<Availability> {
    // Check here what your engine needs (a binary, a model file, a service) and say how to fix what is missing:
    // return { available: false, reason: 'model file /x not found', hint: 'run `acme fetch-model`' }.
    return { available: true };
  }

  async load(): Promise<void> {
    // Load your model here; load() must be idempotent.
    if (this.loaded) return;
    this.loaded = true;
    this.ctx.logger.info({ provider: this.name }, 'engine loaded');
  }

  async unload(): Promise<void> {
    this.generation++;
    this.loaded = false;
  }

  async *transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncIterable<Segment> {
    checkRate(opts.sampleRate);
    await this.load();
    const generation = this.generation;
    const decoder = this.decoder();
    const pending = new Int16Array(BLOCK);
    let filled = 0;
    for await (const frame of audio) {
      if (opts.signal?.aborted) return;
      if (generation !== this.generation) throw new EchoPanelError('ABORTED', `${this.name} was unloaded during the stream`);
      // Frames come in any size (0, 1, odd): the engine gets whole blocks.
      for (let i = 0; i < frame.length; ) {
        const n = Math.min(BLOCK - filled, frame.length - i);
        pending.set(frame.subarray(i, i + n), filled);
        filled += n;
        i += n;
        if (filled === BLOCK) {
          filled = 0;
          const u = decoder.push(pending);
          if (u) yield this.segment(u, 0, opts);
        }
      }
    }
    if (opts.signal?.aborted) return;
    if (filled > 0) {
      const u = decoder.push(pending.slice(0, filled));
      if (u) yield this.segment(u, 0, opts);
    }
    const last = decoder.flush();
    if (last) yield this.segment(last, 0, opts);
  }

  async decode(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> {
    checkRate(opts.sampleRate);
    await this.load();
    const decoder = this.decoder();
    const out: Segment[] = [];
    for (let i = 0; i < pcm.length; i += BLOCK) {
      opts.signal?.throwIfAborted();
      const u = decoder.push(pcm.subarray(i, Math.min(pcm.length, i + BLOCK)));
      if (u) out.push(this.segment(u, opts.offsetSeconds ?? 0, opts));
    }
    const last = decoder.flush();
    if (last) out.push(this.segment(last, opts.offsetSeconds ?? 0, opts));
    return out;
  }

  private decoder(): DtmfDecoder {
    return new DtmfDecoder({
      minToneBlocks: Math.max(1, Math.round((this.config.minToneMs / 1000) * (SAMPLE_RATE / BLOCK))),
      pauseBlocks: Math.max(1, Math.round(this.config.pauseSeconds * (SAMPLE_RATE / BLOCK))),
    });
  }

  private segment(u: Utterance, offsetSeconds: number, opts: { source?: string }): Segment {
    return {
      text: u.text,
      start: offsetSeconds + u.start / SAMPLE_RATE,
      end: offsetSeconds + u.end / SAMPLE_RATE,
      isFinal: true,
      ...(opts.source ? { source: opts.source } : {}),
    };
  }
}

function checkRate(sampleRate: number): void {
  // The host resamples to 16 kHz before calling a provider; anything else is a caller's bug, reported with a code.
  if (sampleRate !== SAMPLE_RATE) {
    throw new EchoPanelError('UNSUPPORTED_SAMPLE_RATE', `${PROVIDER_NAME} takes 16000 Hz PCM, not ${sampleRate} Hz`);
  }
}
