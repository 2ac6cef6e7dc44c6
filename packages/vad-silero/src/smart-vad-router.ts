import {
  silentLogger,
  type ASRProvider,
  type Availability,
  type DecodeOptions,
  type Logger,
  type ModelIdentity,
  type ProviderCapabilities,
  type ProviderHealth,
  type RuntimeTuning,
  type Segment,
  type TranscribeOptions,
  type VadEngine,
} from '@echopanel/plugin-api';
import { VadFilter, type VadFilterOptions } from './vad-filter.js';
import type { VADStats } from './vad-stats.js';

export interface SmartVADRouterOptions extends Omit<VadFilterOptions, 'enabled'> {
  /** VAD on at start (default true). */
  readonly enabled?: boolean;
}

/**
 * A provider whose VAD can be switched on and off at run time (the seed's `SmartVADRouter`; the degrade
 * ladder's "VAD off" action calls {@link setVadEnabled}). The switch takes effect at the next frame of streams
 * already running: open speech is finished through the VAD path, the rest goes straight to the provider.
 */
export class SmartVADRouter implements ASRProvider {
  readonly filter: VadFilter;
  readonly decode?: (pcm: Int16Array, opts: DecodeOptions) => Promise<Segment[]>;
  private on: boolean;
  private readonly logger: Logger;

  constructor(provider: ASRProvider, vad: VadEngine, options: SmartVADRouterOptions = {}) {
    this.on = options.enabled ?? true;
    this.logger = options.logger ?? silentLogger;
    this.filter = new VadFilter(provider, vad, { ...options, enabled: () => this.on });
    if (this.filter.decode) this.decode = this.filter.decode;
  }

  get vadEnabled(): boolean {
    return this.on;
  }

  setVadEnabled(enabled: boolean): void {
    if (enabled === this.on) return;
    this.on = enabled;
    this.logger.info({ provider: this.filter.name }, `VAD ${enabled ? 'enabled' : 'disabled'}`);
  }

  get name(): string {
    return this.filter.name;
  }

  get capabilities(): ProviderCapabilities {
    return this.filter.capabilities;
  }

  availability(): Promise<Availability> {
    return this.filter.availability();
  }

  load(): Promise<void> {
    return this.filter.load();
  }

  unload(): Promise<void> {
    return this.filter.unload();
  }

  dispose(): Promise<void> {
    return this.filter.dispose();
  }

  transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncIterable<Segment> {
    return this.filter.transcribe(audio, opts);
  }

  health(): ProviderHealth {
    const h = this.filter.health();
    return { ...h, extra: { ...h.extra, vadEnabled: this.on } };
  }

  stats(): VADStats {
    return this.filter.stats();
  }

  modelInfo(): ModelIdentity | undefined {
    return this.filter.modelInfo();
  }

  tune(tuning: RuntimeTuning): Promise<RuntimeTuning> {
    return this.filter.tune(tuning);
  }
}
