import {
  type ASRProvider,
  type DecodeOptions,
  errorMessage,
  isEchoPanelError,
  type Logger,
  type ProviderCapabilities,
  type Segment,
  silentLogger,
  type TranscribeOptions,
  type TranscriptionEvent,
} from '@echopanel/plugin-api';
import { HealthReportReader } from '../health/health-report.js';
import { DecodeScheduler, type DecodeSchedulerSettings, type ScheduledDecodeOptions } from '../scheduling/decode-scheduler.js';
import type { HostProvider, ProviderHealth } from '../health/provider-health.js';
import { SessionCounter } from '../health/session-counter.js';
import { InferenceMetrics } from './inference-metrics.js';

/** Marks host-side providers whose `health()` is already the host's full view (measured, composed). */
export const HOST_HEALTH = Symbol.for('echopanel.host-health');

/** Stream work is reported to the RTF window in pieces of at least this much audio. */
const WORK_PIECE_SECONDS = 1;
/** Arrival times kept per stream for segment latency (a provider that never yields keeps only the latest). */
const MAX_ARRIVALS = 4096;

export interface MeasureOptions {
  readonly logger?: Logger;
  /** Wall clock in ms (default `performance.now`). */
  readonly now?: () => number;
  /** How one-shot decodes share the engine (`asr.scheduler`). */
  readonly scheduler?: Partial<DecodeSchedulerSettings>;
}

/** A provider the host composes itself (measured, a failover pair, a lifecycle manager). */
export function isHostProvider(p: ASRProvider | HostProvider): p is HostProvider {
  return (p as { [HOST_HEALTH]?: boolean })[HOST_HEALTH] === true;
}

const measured = new WeakMap<ASRProvider, MeasuredProvider>();

/**
 * The one place a plugin's provider enters the host: wrapped in a {@link MeasuredProvider} (the same wrapper
 * every time for the same provider), unless it is a host composition already.
 */
export function measureProvider(provider: ASRProvider | HostProvider, options: MeasureOptions = {}): HostProvider {
  if (isHostProvider(provider)) return provider;
  let m = measured.get(provider);
  if (!m) {
    m = new MeasuredProvider(provider, options);
    measured.set(provider, m);
  }
  return m;
}

/**
 * The host measures; the plugin transcribes. Around every call into a plugin's provider this computes what
 * `/health`, `/metrics` and the degrade ladder need: RTF over a sliding window (one-shot decodes: wall time
 * against audio; streams: the provider's busy time, from handing it a frame until it asks for the next, against
 * the audio it got), latency percentiles (decodes, and each final from its audio's arrival), backlog, errors,
 * and each stream's sample accounting: audio up to the end of every final (or reported `transcribed`) is
 * transcribed, the provider's `skipped`/`dropped` hints are taken as given, and when the stream ends normally
 * the rest it consumed is transcribed. When the provider throws or the stream is aborted, what it consumed
 * and did not settle is left to the caller, who replays it (FailoverProvider) or drops it with the reason
 * (StreamSession). The plugin's own `health()` report adds state, memory, worker pid, restarts and extras.
 */
export class MeasuredProvider implements HostProvider {
  readonly [HOST_HEALTH] = true;
  readonly decode?: (pcm: Int16Array, opts: ScheduledDecodeOptions) => Promise<Segment[]>;
  readonly decodeRecording?: (pcm: Int16Array, opts: ScheduledDecodeOptions) => Promise<Segment[]>;
  readonly modelInfo?: ASRProvider['modelInfo'];
  readonly tune?: ASRProvider['tune'];
  readonly tuning?: ASRProvider['tuning'];
  readonly dispose?: ASRProvider['dispose'];
  private readonly metrics = new InferenceMetrics();
  private readonly sessions = new SessionCounter();
  private readonly report: HealthReportReader;
  private readonly now: () => number;
  private readonly streamLag = new Map<object, number>();
  private readonly scheduler: DecodeScheduler;
  private inFlight = 0;
  private restartEvents = 0;
  private loaded = false;

  constructor(
    readonly inner: ASRProvider,
    options: MeasureOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.report = new HealthReportReader(inner, (options.logger ?? silentLogger).child({ component: 'provider-health' }));
    const seconds = (pcm: Int16Array, opts: DecodeOptions) => pcm.length / opts.sampleRate;
    this.scheduler = new DecodeScheduler(
      {
        ...(inner.decode ? { decode: (pcm, opts) => this.oneShot(() => inner.decode!(pcm, opts), seconds(pcm, opts), opts.signal) } : {}),
        ...(inner.decodeRecording
          ? { decodeRecording: (pcm, opts) => this.oneShot(() => inner.decodeRecording!(pcm, opts), seconds(pcm, opts), opts.signal) }
          : {}),
        ...(inner.decodeBatch
          ? { decodeBatch: (items) => this.oneShot(() => inner.decodeBatch!(items), items.reduce((s, i) => s + seconds(i.pcm, i.opts), 0)) }
          : {}),
        ...(inner.capabilities.maxBatchSize !== undefined ? { maxBatchSize: inner.capabilities.maxBatchSize } : {}),
        ...(inner.capabilities.parallelDecodes !== undefined ? { parallelDecodes: inner.capabilities.parallelDecodes } : {}),
      },
      options.scheduler,
      { logger: (options.logger ?? silentLogger).child({ component: 'decode-scheduler' }), now: this.now },
    );
    // Every one-shot decode goes through the scheduler: finals before partials, batches where the engine takes them.
    if (inner.decode) this.decode = (pcm, opts) => this.scheduler.decode(pcm, opts);
    if (inner.decodeRecording) this.decodeRecording = (pcm, opts) => this.scheduler.decodeRecording(pcm, opts);
    if (inner.modelInfo) this.modelInfo = () => inner.modelInfo!();
    if (inner.tune) this.tune = (t) => inner.tune!(t);
    if (inner.tuning) this.tuning = () => inner.tuning!();
    if (inner.dispose) this.dispose = () => inner.dispose!().finally(() => (this.loaded = false));
  }

  get name(): string {
    return this.inner.name;
  }

  get capabilities(): ProviderCapabilities {
    return this.inner.capabilities;
  }

  availability() {
    return this.inner.availability();
  }

  async load(): Promise<void> {
    await this.inner.load();
    this.loaded = true;
  }

  async unload(): Promise<void> {
    await this.inner.unload();
    this.loaded = false;
  }

  health(): ProviderHealth {
    const r = this.report.read();
    let lag = 0;
    for (const s of this.streamLag.values()) lag += s;
    return {
      provider: this.name,
      state: r.state ?? (this.loaded ? 'READY' : 'UNINITIALIZED'),
      ...this.metrics.snapshot(),
      backlog: this.inFlight,
      backlogSeconds: lag,
      modelResident: r.modelResident ?? this.loaded,
      restarts: r.restarts ?? this.restartEvents,
      ...(r.workerPid !== undefined ? { workerPid: r.workerPid } : {}),
      memory: {
        processRssBytes: process.memoryUsage.rss(),
        workerRssBytes: r.memory?.workerRssBytes ?? 0,
        ...(r.memory?.modelResidentBytes !== undefined ? { modelResidentBytes: r.memory.modelResidentBytes } : {}),
      },
      sessions: this.sessions.snapshot(),
      ...(this.decode ? { scheduler: this.scheduler.stats() } : {}),
      ...(r.extra ? { extra: r.extra } : {}),
    };
  }

  async *transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncGenerator<Segment> {
    const rate = opts.sampleRate;
    const session = this.sessions.open(opts.onEvent);
    const key = {};
    const meter = new StreamMeter(this.now, rate);
    /** Samples settled so far, in stream order. */
    let settled = 0;
    const settle = (target: number) => {
      const upTo = Math.min(target, meter.received);
      if (upTo <= settled) return;
      session.onEvent({ type: 'transcribed', samples: upTo - settled, start: settled / rate, end: upTo / rate });
      settled = upTo;
    };
    const onEvent = (e: TranscriptionEvent) => {
      if (e.type === 'transcribed') return settle(settled + e.samples);
      if (e.type === 'skipped' || e.type === 'dropped') {
        // A hint past what the provider was given is clamped: the host's count of received samples is the truth.
        const samples = Math.min(e.samples, meter.received - settled);
        if (samples <= 0) return;
        settled += samples;
        if (e.type === 'dropped') this.metrics.recordDroppedChunk();
        return session.onEvent({ ...e, samples });
      }
      if (e.type === 'restart') this.restartEvents++;
      if (e.type === 'error' && !e.recovered) this.metrics.recordError(e.code, e.message);
      session.onEvent(e);
    };
    const flushWork = (force: boolean) => {
      const w = meter.takeWork(force ? 0 : WORK_PIECE_SECONDS);
      if (w) this.metrics.recordWork(w.ms, w.audioSeconds);
    };
    async function* feed(): AsyncGenerator<Int16Array> {
      for await (const frame of audio) {
        meter.handOff(frame.length);
        yield frame;
        meter.asked();
        flushWork(false);
      }
    }
    let completed = false;
    let done = false;
    const iterator = this.inner.transcribe(feed(), { ...opts, onEvent })[Symbol.asyncIterator]();
    try {
      for (;;) {
        meter.resume();
        let r: IteratorResult<Segment>;
        try {
          r = await iterator.next();
        } catch (err) {
          done = true;
          throw err;
        }
        meter.pause();
        if (r.done) {
          done = true;
          break;
        }
        const seg = r.value;
        const end = Math.round(seg.end * rate);
        this.streamLag.set(key, meter.lagSeconds(end));
        if (seg.isFinal) {
          const latency = meter.latencyOf(end);
          if (latency !== undefined) this.metrics.recordLatency(latency);
          settle(end);
        }
        yield seg;
      }
      completed = !opts.signal?.aborted;
    } catch (err) {
      this.recordFailure(err, opts.signal);
      throw err;
    } finally {
      // Our consumer stopped early (we were suspended at a yield, so is the provider): close it too.
      if (!done) await Promise.resolve(iterator.return?.()).catch(() => undefined);
      meter.pause();
      flushWork(true);
      if (completed) settle(meter.received);
      else if (meter.received > settled) {
        // The caller replays or drops these; the provider's own stats still add up.
        session.count({ type: 'dropped', samples: meter.received - settled, reason: 'stream ended early', start: settled / rate, end: meter.received / rate });
      }
      this.streamLag.delete(key);
      session.close();
    }
  }

  private async oneShot<T>(run: () => Promise<T>, audioSeconds: number, signal?: AbortSignal): Promise<T> {
    this.inFlight++;
    const t0 = this.now();
    try {
      const segments = await run();
      this.metrics.recordDecode(this.now() - t0, audioSeconds);
      return segments;
    } catch (err) {
      this.recordFailure(err, signal);
      throw err;
    } finally {
      this.inFlight--;
    }
  }

  private recordFailure(err: unknown, signal?: AbortSignal): void {
    if (signal?.aborted || (isEchoPanelError(err) && err.code === 'ABORTED')) return;
    this.metrics.recordError(isEchoPanelError(err) ? err.code : 'INFERENCE_FAILED', errorMessage(err));
  }
}

/**
 * One stream's clock: the provider is busy from a frame's hand-off until it asks for the next one, except while
 * the host's consumer holds a segment it yielded (the provider is suspended then).
 */
class StreamMeter {
  received = 0;
  private busySince?: number;
  private paused = false;
  private wasBusy = false;
  private pendingMs = 0;
  private pendingSamples = 0;
  private readonly arrivals: { end: number; at: number }[] = [];

  constructor(
    private readonly now: () => number,
    private readonly rate: number,
  ) {}

  handOff(samples: number): void {
    this.received += samples;
    this.pendingSamples += samples;
    this.arrivals.push({ end: this.received, at: this.now() });
    if (this.arrivals.length > MAX_ARRIVALS) this.arrivals.shift();
    this.busySince = this.now();
  }

  asked(): void {
    if (this.busySince !== undefined) this.pendingMs += this.now() - this.busySince;
    this.busySince = undefined;
    this.wasBusy = false;
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.wasBusy = this.busySince !== undefined;
    if (this.busySince !== undefined) this.pendingMs += this.now() - this.busySince;
    this.busySince = undefined;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.wasBusy) this.busySince = this.now();
    this.wasBusy = false;
  }

  /** Busy time and audio since the last piece, once at least `minSeconds` of audio was handed over. */
  takeWork(minSeconds: number): { ms: number; audioSeconds: number } | undefined {
    const audioSeconds = this.pendingSamples / this.rate;
    if (audioSeconds <= 0 || audioSeconds < minSeconds) return undefined;
    const ms = this.pendingMs;
    this.pendingMs = 0;
    this.pendingSamples = 0;
    return { ms, audioSeconds };
  }

  /** Audio handed over beyond a segment ending at sample `end`. */
  lagSeconds(end: number): number {
    return Math.max(0, this.received - end) / this.rate;
  }

  /** Ms since the audio up to sample `end` had arrived (undefined for a segment past the audio). */
  latencyOf(end: number): number | undefined {
    while (this.arrivals.length > 1 && this.arrivals[0].end < end) this.arrivals.shift();
    const a = this.arrivals[0];
    return a && a.end >= end ? this.now() - a.at : undefined;
  }
}
