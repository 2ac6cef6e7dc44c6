import {
  EchoPanelError,
  errorMessage,
  isEchoPanelError,
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
  type TranscriptionEvent,
  type VadAvailability,
  type VadEngine,
} from '@echopanel/plugin-api';
import { SessionCounter } from '@echopanel/engine-kit';
import { AsyncChannel } from './async-channel.js';
import { FrameSource } from './frame-source.js';
import { speechGate, type GateItem } from './speech-gate.js';
import { TimelineMap } from './timeline-map.js';
import { VadStatsCollector, type VADStats } from './vad-stats.js';

export interface VadFilterOptions {
  readonly logger?: Logger;
  /** Read before every frame: `false` sends audio straight to the provider (how {@link SmartVADRouter} switches). */
  readonly enabled?: () => boolean;
  /**
   * `decode`: each speech segment is one `provider.decode` call (default when the provider can decode).
   * `stream`: the speech, without the silence, is one `provider.transcribe` stream; times are mapped back.
   */
  readonly mode?: 'decode' | 'stream';
  /** During a long pause, silence is reported (`skipped` events) at least this often, seconds (default 10). */
  readonly silenceReportSeconds?: number;
  /** For VAD engines whose detectors lack `settledSample`: audio kept for late speech starts, seconds (default 2). */
  readonly lookbackSeconds?: number;
}

type Emit = (event: TranscriptionEvent) => void;

/**
 * Puts a VAD in front of any {@link ASRProvider} and is itself one (the seed's `VADASRWrapper`): silence never
 * reaches the engine, speech does, with timestamps on the original stream's timeline. Every sample is still
 * accounted for: silence as `skipped` (`reason: 'silence'`), speech by the engine's own events.
 *
 * When the VAD cannot run (model missing, unsupported rate) audio passes through unchanged and the reason is
 * logged once.
 */
export class VadFilter implements ASRProvider {
  /** Present when the wrapped provider can decode (forwards unchanged). */
  readonly decode?: (pcm: Int16Array, opts: DecodeOptions) => Promise<Segment[]>;
  readonly mode: 'decode' | 'stream';
  private readonly logger: Logger;
  private readonly sessions = new SessionCounter();
  private readonly collector = new VadStatsCollector();
  private readonly warned = new Set<string>();

  constructor(
    readonly provider: ASRProvider,
    readonly vad: VadEngine,
    private readonly options: VadFilterOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    const canDecode = typeof provider.decode === 'function' && provider.capabilities.decode !== false;
    this.mode = options.mode ?? (canDecode ? 'decode' : 'stream');
    if (this.mode === 'decode' && !canDecode) {
      throw new EchoPanelError('INVALID_CONFIG', `VadFilter mode 'decode' needs a provider with decode(); ${provider.name} has none (use mode 'stream')`);
    }
    if (canDecode) this.decode = (pcm, opts) => provider.decode!(pcm, opts);
  }

  get name(): string {
    return this.provider.name;
  }

  get capabilities(): ProviderCapabilities {
    return this.provider.capabilities;
  }

  availability(): Promise<Availability> {
    return this.provider.availability();
  }

  /** Whether the VAD itself can run (if not, audio passes through). */
  vadAvailability(): Promise<VadAvailability> {
    return this.vad.availability();
  }

  /** Loads the provider, then the VAD; a VAD that fails to load only means passthrough. */
  async load(): Promise<void> {
    await this.provider.load();
    await this.vadUsable(16000);
  }

  /** Unloads the provider. The VAD engine is not owned by the filter (the pipeline may share it). */
  unload(): Promise<void> {
    return this.provider.unload();
  }

  dispose(): Promise<void> {
    return this.provider.dispose ? this.provider.dispose() : this.provider.unload();
  }

  modelInfo(): ModelIdentity | undefined {
    return this.provider.modelInfo?.();
  }

  tune(tuning: RuntimeTuning): Promise<RuntimeTuning> {
    return this.provider.tune ? this.provider.tune(tuning) : Promise.resolve({});
  }

  /** Cumulative VAD statistics over all streams. */
  stats(): VADStats {
    let rtf: number | undefined;
    try {
      rtf = this.provider.health().rtf;
    } catch {
      rtf = undefined;
    }
    return this.collector.snapshot(rtf);
  }

  health(): ProviderHealth {
    const h = this.provider.health();
    return { ...h, sessions: this.sessions.snapshot(), extra: { ...h.extra, vad: this.collector.snapshot(h.rtf) } };
  }

  async *transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncGenerator<Segment> {
    const session = this.sessions.open(opts.onEvent);
    const emit = session.onEvent;
    const source = new FrameSource(audio);
    const enabled = this.options.enabled ?? (() => true);
    const usable = await this.vadUsable(opts.sampleRate);
    const aborted = () => opts.signal?.aborted === true;
    const rate = opts.sampleRate;
    try {
      while (!aborted() && (await source.hasMore())) {
        const base = source.consumed;
        const vadOn = usable && enabled();
        const frames = source.take(() => !aborted() && (usable && enabled()) === vadOn);
        if (!vadOn) yield* this.passthrough(frames, base, opts, emit);
        else if (this.mode === 'decode') yield* this.decodePhase(frames, base, opts, emit);
        else yield* this.streamPhase(frames, base, opts, emit);
        if (source.consumed === base && !source.conditionEnded && !aborted() && (await source.hasMore())) {
          // The engine stopped without reading: drop one frame so the stream still advances.
          const f = source.takeHeld()!;
          source.consumed += f.length;
          emit({ type: 'dropped', samples: f.length, reason: 'engine stopped reading', start: base / rate, end: source.consumed / rate });
        }
      }
    } finally {
      const held = source.takeHeld();
      if (held) {
        emit({ type: 'dropped', samples: held.length, reason: aborted() ? 'aborted' : 'stream cancelled', start: source.consumed / rate, end: (source.consumed + held.length) / rate });
        source.consumed += held.length;
      }
      session.close();
      // Not awaited: a live source may only answer at its next frame.
      void source.close().catch(() => undefined);
    }
  }

  /** Audio goes to the provider untouched (VAD off or unavailable); times shift by the phase's offset. */
  private async *passthrough(frames: AsyncGenerator<Int16Array>, base: number, opts: TranscribeOptions, emit: Emit): AsyncGenerator<Segment> {
    const map = new TimelineMap(opts.sampleRate, base);
    const stats = this.collector;
    const counted = (async function* () {
      for await (const f of frames) {
        stats.passthroughFrames += f.length;
        yield f;
      }
    })();
    for await (const seg of this.provider.transcribe(counted, { ...opts, onEvent: (e) => emit(map.event(e)) })) {
      yield map.segment(seg);
    }
  }

  /** Each speech segment is one `decode` call; silence is reported as skipped. */
  private async *decodePhase(frames: AsyncIterable<Int16Array>, base: number, opts: TranscribeOptions, emit: Emit): AsyncGenerator<Segment> {
    const rate = opts.sampleRate;
    const at = (s: number) => (base + s) / rate;
    for await (const item of speechGate(frames, this.gateOptions(rate, false, base, emit))) {
      if (item.kind === 'silence') {
        this.skip(item, base, rate, emit);
        continue;
      }
      const samples = item.to - item.from;
      this.collector.speechFrames += samples;
      this.collector.processedChunks++;
      const t0 = performance.now();
      let segments: Segment[];
      try {
        segments = await this.provider.decode!(item.pcm, {
          sampleRate: rate,
          language: opts.language,
          source: opts.source,
          signal: opts.signal,
          wordTimestamps: opts.wordTimestamps,
          prompt: opts.prompt,
          offsetSeconds: at(item.from),
        });
      } catch (err) {
        const code = isEchoPanelError(err) ? err.code : 'INFERENCE_FAILED';
        if (!opts.signal?.aborted) emit({ type: 'error', code, message: errorMessage(err), recovered: false });
        emit({ type: 'dropped', samples, reason: opts.signal?.aborted ? 'aborted' : `${code}: ${errorMessage(err)}`, start: at(item.from), end: at(item.to) });
        if (opts.signal?.aborted) throw err;
        continue;
      }
      this.collector.recordInference(performance.now() - t0, samples / rate);
      emit({ type: 'transcribed', samples, start: at(item.from), end: at(item.to) });
      yield* segments;
    }
  }

  /** The speech, without its silence, is one stream into `provider.transcribe`; times map back. */
  private async *streamPhase(frames: AsyncIterable<Int16Array>, base: number, opts: TranscribeOptions, emit: Emit): AsyncGenerator<Segment> {
    const rate = opts.sampleRate;
    const map = new TimelineMap(rate, base);
    const channel = new AsyncChannel<Int16Array>(8);
    const stats = this.collector;
    const queued: Array<{ from: number; to: number }> = [];
    const pump = (async () => {
      try {
        for await (const item of speechGate(frames, this.gateOptions(rate, true, base, emit))) {
          if (item.kind === 'silence') {
            this.skip(item, base, rate, emit);
            continue;
          }
          if (item.to === item.from) continue;
          map.add(item.from, item.to - item.from);
          stats.speechFrames += item.to - item.from;
          if (item.from === item.segmentStart) stats.processedChunks++;
          queued.push({ from: item.from, to: item.to });
          if (!(await channel.push(item.pcm.slice()))) {
            queued.pop();
            stats.speechFrames -= item.to - item.from;
            emit({ type: 'dropped', samples: item.to - item.from, reason: 'engine stopped reading', start: (base + item.from) / rate, end: (base + item.to) / rate });
            break;
          }
        }
        channel.close();
      } catch (err) {
        channel.fail(err);
      }
    })();
    // What the engine actually read, to report runs it never took as dropped.
    let taken = 0;
    const reading = (async function* () {
      for await (const pcm of channel) {
        taken++;
        yield pcm;
      }
    })();
    let finished = false;
    try {
      for await (const seg of this.provider.transcribe(reading, { ...opts, onEvent: (e) => emit(map.event(e)) })) {
        yield map.segment(seg);
      }
      finished = true;
    } finally {
      channel.cancel();
      const settled = pump.then(() => {
        for (const run of queued.slice(taken)) {
          emit({ type: 'dropped', samples: run.to - run.from, reason: 'engine stopped reading', start: (base + run.from) / rate, end: (base + run.to) / rate });
        }
      });
      // After a normal end the pump is done; after a cancel it may wait on the next live frame, so don't block on it.
      if (finished) await settled;
    }
  }

  private gateOptions(rate: number, incremental: boolean, base: number, emit: Emit) {
    return {
      vad: this.vad,
      sampleRate: rate,
      incremental,
      silenceReportSamples: Math.max(1, Math.round((this.options.silenceReportSeconds ?? 10) * rate)),
      lookbackSamples: Math.round((this.options.lookbackSeconds ?? 2) * rate),
      stats: this.collector,
      onSilenceLeft: (from: number, to: number) => this.skip({ kind: 'silence', from, to }, base, rate, emit),
      onUnaccounted: (from: number, to: number) =>
        emit({ type: 'dropped', samples: to - from, reason: 'stream cancelled', start: (base + from) / rate, end: (base + to) / rate }),
    };
  }

  private skip(item: Extract<GateItem, { kind: 'silence' }>, base: number, rate: number, emit: Emit): void {
    const samples = item.to - item.from;
    this.collector.silenceFrames += samples;
    this.collector.silenceSeconds += samples / rate;
    this.collector.skippedChunks++;
    emit({ type: 'skipped', samples, reason: 'silence', start: (base + item.from) / rate, end: (base + item.to) / rate });
  }

  /** Loads the VAD for this rate; on failure logs why (once) and returns false: the caller passes audio through. */
  private async vadUsable(rate: number): Promise<boolean> {
    if (rate !== 16000 && rate !== 8000) {
      this.warnOnce(`VAD runs at 16000 or 8000 Hz, not ${rate} Hz: passing audio through unfiltered`);
      return false;
    }
    try {
      await this.vad.load();
      return true;
    } catch (err) {
      this.warnOnce(`VAD model unavailable, passing audio through unfiltered: ${errorMessage(err)}`);
      return false;
    }
  }

  private warnOnce(reason: string): void {
    if (this.warned.has(reason)) return;
    this.warned.add(reason);
    this.logger.warn({ provider: this.provider.name, vad: this.vad.name }, reason);
  }
}
