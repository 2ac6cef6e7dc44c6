// A provider written against the contract for lifecycle, ladder and failover tests. The contract is the outside
// boundary here: it counts loads/unloads, can gate/fail/hang its load, and decodes through the shared
// transcribeInChunks so accounting is the real code. Its "engine" describes the audio it was given.
import {
  type ASRProvider,
  type DecodeOptions,
  EchoPanelError,
  type ProviderHealthReport,
  type RuntimeTuning,
  type Segment,
  type TranscribeOptions,
} from '@echopanel/plugin-api';
import {
  type DecodeRequest,
  decodeUtterance,
  type RawSegment,
  transcribeInChunks,
} from '@echopanel/engine-kit';

export interface CountingProviderOptions {
  name?: string;
  chunkSeconds?: number;
  decode?: boolean;
  /** Resident bytes the "model" adds to the worker while loaded. */
  residentBytes?: number;
}

export class CountingProvider implements ASRProvider {
  readonly name: string;
  readonly capabilities;
  loads = 0;
  unloads = 0;
  decodes = 0;
  decodedSamples = 0;
  loaded = false;
  /** Rejected by `unload()` while a load is pending (like killing a worker that is loading). */
  private pendingLoad?: { reject: (e: unknown) => void };
  /** Set to make the next loads wait for `releaseLoad()`. */
  gateLoads = false;
  private gate?: () => void;
  /** Next loads fail with these errors, in order. */
  loadFailures: Error[] = [];
  /** Next decodes fail with these errors, in order (undefined entries succeed). */
  decodeFailures: (Error | undefined)[] = [];
  /** Every decode fails with this while set. */
  failAllDecodes?: Error;
  /** Each decode takes this long (honours the abort signal). */
  decodeDelayMs = 0;
  unloadFailure?: Error;
  chunkSeconds: number;
  tunings: RuntimeTuning[] = [];
  available = true;

  constructor(private readonly options: CountingProviderOptions = {}) {
    this.name = options.name ?? 'counting';
    this.chunkSeconds = options.chunkSeconds ?? 1;
    this.capabilities = {
      streaming: false,
      partialResults: false,
      wordTimestamps: false,
      languages: ['en'],
      devices: ['cpu'] as const,
      decode: options.decode ?? true,
    };
  }

  async availability() {
    return this.available ? { available: true } : { available: false, reason: `${this.name} is switched off`, hint: 'switch it on' };
  }

  load(): Promise<void> {
    this.loads++;
    const failure = this.loadFailures.shift();
    if (failure) return Promise.reject(failure);
    if (!this.gateLoads) {
      this.loaded = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.pendingLoad = { reject };
      this.gate = () => {
        this.pendingLoad = undefined;
        this.loaded = true;
        resolve();
      };
    });
  }

  /** Lets a gated load finish. */
  releaseLoad(): void {
    this.gate?.();
    this.gate = undefined;
  }

  get loadPending(): boolean {
    return this.pendingLoad !== undefined;
  }

  async unload(): Promise<void> {
    this.unloads++;
    if (this.unloadFailure) throw this.unloadFailure;
    if (this.pendingLoad) {
      this.pendingLoad.reject(new EchoPanelError('ABORTED', 'load cancelled by unload'));
      this.pendingLoad = undefined;
      this.gate = undefined;
    }
    this.loaded = false;
  }

  private async engine(req: DecodeRequest): Promise<RawSegment[]> {
    if (!this.loaded) throw new EchoPanelError('NOT_READY', `${this.name} is not loaded`);
    this.decodes++;
    const failure = this.failAllDecodes ?? this.decodeFailures.shift();
    if (this.decodeDelayMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, this.decodeDelayMs);
        req.signal?.addEventListener('abort', () => {
          clearTimeout(t);
          reject(req.signal?.reason);
        }, { once: true });
      });
    }
    if (failure) throw failure;
    this.decodedSamples += req.pcm.length;
    const seconds = req.pcm.length / req.sampleRate;
    return [{ text: `${this.name} heard ${req.pcm.length} samples`, start: 0, end: seconds, confidence: 0.9 }];
  }

  transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncIterable<Segment> {
    return transcribeInChunks(audio, opts, (r) => this.engine(r), { chunkSeconds: () => this.chunkSeconds, minFinalSeconds: 0, silenceRms: 0 });
  }

  decode(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> {
    return decodeUtterance(pcm, opts, (r) => this.engine(r));
  }

  async tune(t: RuntimeTuning): Promise<RuntimeTuning> {
    this.tunings.push(t);
    if (t.chunkSeconds !== undefined) this.chunkSeconds = t.chunkSeconds;
    return t;
  }

  /** Only what the host cannot see (it measures timings and accounting itself). */
  health(): ProviderHealthReport {
    return { modelResident: this.loaded, memory: { workerRssBytes: this.loaded ? (this.options.residentBytes ?? 0) : 0 } };
  }
}
