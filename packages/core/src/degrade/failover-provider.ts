import {
  type ASRProvider,
  type Availability,
  type Clock,
  type DecodeOptions,
  EchoPanelError,
  errorMessage,
  isEchoPanelError,
  type Logger,
  type ModelIdentity,
  pcmFrames,
  type ProviderCapabilities,
  round3,
  type RuntimeTuning,
  type Segment,
  silentLogger,
  systemClock,
  type TranscribeOptions,
  type TranscriptionEvent,
} from '@echopanel/plugin-api';
import type { HostProvider, ProviderHealth } from '../health/provider-health.js';
import type { DecodeSchedulerSettings } from '../scheduling/decode-scheduler.js';
import { Listeners } from '../lifecycle/listeners.js';
import { HOST_HEALTH, measureProvider } from '../lifecycle/measured-provider.js';
import { synthesizeWarmupAudio } from '../lifecycle/warmup-audio.js';
import type { FailoverControl } from './degrade-actions.js';
import { ReplayBuffer } from '@echopanel/engine-kit';

export type FailoverSide = 'primary' | 'fallback';

export interface FailoverProviderOptions {
  /** Plugin providers are measured by the host (see {@link measureProvider}); host compositions are taken as they are. */
  readonly primary: ASRProvider | HostProvider;
  readonly fallback: ASRProvider | HostProvider;
  /** Consecutive primary errors (failed chunks or decodes) that trigger failover (config `asr.degrade.errorsBeforeFailover`). */
  readonly errorsBeforeFailover?: number;
  /** Load the fallback with the primary (faster failover, more memory). Default false: loaded on failover. */
  readonly preloadFallback?: boolean;
  /** Limit of one primary probe (default 30000 ms). */
  readonly probeTimeoutMs?: number;
  /** While failed over, probe the primary this often and go back when healthy (0 = only on request, e.g. by the ladder). */
  readonly autoRecoverMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** How one-shot decodes share each side's engine (`asr.scheduler`). */
  readonly scheduler?: Partial<DecodeSchedulerSettings>;
}

export interface FailoverSwitch {
  readonly from: FailoverSide;
  readonly to: FailoverSide;
  readonly provider: string;
  readonly reason: string;
  readonly at: string;
}

export interface FailoverEvents extends Record<string, unknown> {
  switch: FailoverSwitch;
}

/** Codes that mean the primary engine itself is gone, not just one request. */
const CRASH_CODES = new Set(['WORKER_CRASHED', 'WORKER_START_FAILED', 'MODEL_CORRUPT', 'NOT_READY']);

/**
 * A primary/fallback pair that is itself an {@link ASRProvider}. After
 * `errorsBeforeFailover` consecutive primary errors, or a crash the primary could not recover from, new work
 * goes to the fallback, and streams in flight move over without losing audio: the chunk that failed and
 * everything buffered after it are replayed to the fallback, and every sample is still reported exactly once as
 * transcribed, skipped or dropped. `recoverPrimary()` probes the primary (availability + a tiny decode) and
 * goes back when it is healthy; streams on the fallback move back at their next chunk boundary.
 */
export class FailoverProvider implements HostProvider, FailoverControl {
  readonly [HOST_HEALTH] = true;
  readonly primary: HostProvider;
  readonly fallback: HostProvider;
  private side: FailoverSide = 'primary';
  private consecutive = 0;
  private failovers = 0;
  private recoveries = 0;
  private lastSwitch?: { to: FailoverSide; reason: string; at: string };
  private failing?: Promise<boolean>;
  private recovering?: Promise<boolean>;
  private readonly listeners: Listeners<FailoverEvents>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private timer?: NodeJS.Timeout;
  private lastProbe?: { ok: boolean; at: string; reason?: string };

  constructor(private readonly options: FailoverProviderOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child({ component: 'failover' });
    const measure = { logger: this.logger, ...(options.scheduler ? { scheduler: options.scheduler } : {}) };
    this.primary = measureProvider(options.primary, measure);
    this.fallback = measureProvider(options.fallback, measure);
    this.listeners = new Listeners((err) => this.logger.error({ err: errorMessage(err) }, 'failover listener threw'));
  }

  /** Name of the provider serving new requests. */
  get name(): string {
    return this.activeProvider.name;
  }

  get capabilities(): ProviderCapabilities {
    return this.activeProvider.capabilities;
  }

  get active(): FailoverSide {
    return this.side;
  }

  get activeProvider(): HostProvider {
    return this.side === 'primary' ? this.primary : this.fallback;
  }

  on<K extends keyof FailoverEvents>(event: K, listener: (payload: FailoverEvents[K]) => void): () => void {
    return this.listeners.on(event, listener);
  }

  async availability(): Promise<Availability> {
    const [p, f] = await Promise.all([this.primary.availability(), this.fallback.availability()]);
    if (p.available) return p;
    if (f.available) return { available: true, reason: `primary ${this.primary.name} unavailable (${p.reason ?? 'no reason'}); fallback ${this.fallback.name} serves` };
    return p;
  }

  /** Loads the primary (and the fallback with `preloadFallback`). A primary that fails to load fails over at once. */
  async load(): Promise<void> {
    const fallbackLoad = this.options.preloadFallback ? this.fallback.load() : undefined;
    fallbackLoad?.catch(() => undefined);
    try {
      await this.primary.load();
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'primary failed to load; trying the fallback');
      if (!(await this.failover(`primary ${this.primary.name} failed to load: ${errorMessage(err)}`))) throw err;
    }
    try {
      await fallbackLoad;
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'fallback failed to preload; it will be loaded on failover');
    }
  }

  async unload(): Promise<void> {
    this.stopAutoRecover();
    await Promise.all([this.primary.unload(), this.fallback.unload()]);
  }

  async dispose(): Promise<void> {
    this.stopAutoRecover();
    await Promise.all([
      this.primary.dispose ? this.primary.dispose() : this.primary.unload(),
      this.fallback.dispose ? this.fallback.dispose() : this.fallback.unload(),
    ]);
  }

  modelInfo(): ModelIdentity | undefined {
    return this.activeProvider.modelInfo?.();
  }

  /** Tuning goes to whoever serves. */
  async tune(tuning: RuntimeTuning): Promise<RuntimeTuning> {
    const p = this.activeProvider;
    return p.tune ? p.tune(tuning) : {};
  }

  tuning(): RuntimeTuning {
    return this.activeProvider.tuning?.() ?? {};
  }

  /** Switches new work to the fallback (loading it). `false` when the fallback cannot be loaded. */
  failover(reason: string): Promise<boolean> {
    if (this.side === 'fallback') return Promise.resolve(true);
    this.failing ??= (async () => {
      try {
        await this.fallback.load();
      } catch (err) {
        this.logger.error({ reason, err: errorMessage(err) }, `cannot fail over: fallback ${this.fallback.name} did not load`);
        return false;
      }
      this.switchTo('fallback', reason);
      this.failovers++;
      this.startAutoRecover();
      return true;
    })().finally(() => {
      this.failing = undefined;
    });
    return this.failing;
  }

  /** Probes the primary and goes back to it when healthy. */
  recoverPrimary(): Promise<boolean> {
    if (this.side === 'primary') return Promise.resolve(true);
    this.recovering ??= (async () => {
      if (!(await this.probePrimary())) return false;
      this.switchTo('primary', 'primary is healthy again');
      this.recoveries++;
      this.stopAutoRecover();
      return true;
    })().finally(() => {
      this.recovering = undefined;
    });
    return this.recovering;
  }

  /** Is the primary usable: available, loads, and decodes a second of synthesized audio without error. */
  async probePrimary(): Promise<boolean> {
    const at = () => this.clock.date().toISOString();
    const ac = new AbortController();
    const timeoutMs = this.options.probeTimeoutMs ?? 30000;
    const timer = setTimeout(() => ac.abort(new EchoPanelError('INFERENCE_TIMEOUT', `primary probe took longer than ${timeoutMs} ms`)), timeoutMs);
    const aborted = new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true }));
    aborted.catch(() => undefined);
    try {
      const availability = await Promise.race([this.primary.availability(), aborted]);
      if (!availability.available) {
        this.lastProbe = { ok: false, at: at(), reason: availability.reason ?? 'unavailable' };
        return false;
      }
      await Promise.race([this.primary.load(), aborted]);
      const pcm = synthesizeWarmupAudio({ seconds: 1 });
      await Promise.race([tinyDecode(this.primary, pcm, ac.signal), aborted]);
      this.lastProbe = { ok: true, at: at() };
      return true;
    } catch (err) {
      this.lastProbe = { ok: false, at: at(), reason: errorMessage(err) };
      this.logger.info({ err: errorMessage(err) }, 'primary probe failed');
      return false;
    } finally {
      clearTimeout(timer);
      if (!ac.signal.aborted) ac.abort();
    }
  }

  health(): ProviderHealth {
    const active = this.activeProvider.health();
    return {
      ...active,
      failover: {
        active: this.side,
        primary: this.primary.name,
        fallback: this.fallback.name,
        failovers: this.failovers,
        recoveries: this.recoveries,
        ...(this.lastSwitch ? { lastSwitch: { ...this.lastSwitch } } : {}),
        ...(this.side === 'fallback' ? { primaryHealth: this.primary.health() } : {}),
      },
      ...(this.lastProbe ? { extra: { ...active.extra, lastPrimaryProbe: this.lastProbe } } : {}),
    };
  }

  decode(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> {
    return this.oneShot('decode', pcm, opts);
  }

  decodeRecording(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> {
    return this.oneShot('decodeRecording', pcm, opts);
  }

  /** A one-shot decode on the serving side; a failure that trips failover is retried once on the fallback. */
  private async oneShot(method: 'decode' | 'decodeRecording', pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> {
    const side = this.side;
    const provider = this.providerOf(side);
    if (!provider[method]) throw new EchoPanelError('INVALID_STATE', `provider ${provider.name} does not implement ${method}()`);
    try {
      const segs = await provider[method](pcm, opts);
      if (side === 'primary') this.consecutive = 0;
      return segs;
    } catch (err) {
      if (side === 'fallback' || opts.signal?.aborted || isAbort(err)) throw err;
      const trip = this.noteError() || isCrash(err);
      if (trip && this.fallback[method] && (await this.failover(`${this.errorSummary(err)}`))) {
        return this.fallback[method](pcm, opts);
      }
      throw err;
    }
  }

  /**
   * Streams through the serving provider. On failover mid-stream the run is abandoned and its unaccounted
   * audio (the failed chunk(s) and everything buffered) is replayed to the other provider; times stay stream
   * times; accounting events (computed by each side's {@link MeasuredProvider}) are forwarded exactly once per
   * sample.
   */
  async *transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncGenerator<Segment> {
    const rate = opts.sampleRate;
    const buffer = new ReplayBuffer(audio);
    const forward = opts.onEvent ?? (() => undefined);
    let finalized = 0;
    let side = this.side;
    try {
      for (;;) {
        const runStart = finalized;
        const offset = runStart / rate;
        const reader = buffer.reader(runStart);
        const provider = this.providerOf(side);
        const ac = new AbortController();
        const signal = opts.signal ? AbortSignal.any([opts.signal, ac.signal]) : ac.signal;
        let pos = runStart;
        let detached = false;
        let switchTo: FailoverSide | undefined;
        let switchReason = '';
        let wantBack = false;
        // Failed chunks of the primary, held until we know whether the fallback redoes them.
        let held: TranscriptionEvent[] = [];
        let pendingError: TranscriptionEvent | undefined;

        const requestSwitch = (to: FailoverSide, reason: string) => {
          if (switchTo) return;
          switchTo = to;
          switchReason = reason;
          detached = true;
          reader.detach();
          ac.abort(new EchoPanelError('ABORTED', `moving stream to ${to}: ${reason}`));
        };
        const flushHeld = () => {
          for (const e of held) forward(e);
          held = [];
          finalized = pos;
          buffer.release(finalized);
        };
        // The stream ends in an error: what was received but not accounted for is reported dropped.
        const dropRest = (reason: string) => {
          if (pendingError) forward(pendingError);
          pendingError = undefined;
          flushHeld();
          if (buffer.receivedSamples > finalized) {
            forward({ type: 'dropped', samples: buffer.receivedSamples - finalized, reason, start: finalized / rate, end: buffer.receivedSamples / rate });
            finalized = buffer.receivedSamples;
          }
        };
        const shift = (e: TranscriptionEvent): TranscriptionEvent => ('start' in e ? { ...e, start: round3(e.start + offset), end: round3(e.end + offset) } : e);
        const onEvent = (e: TranscriptionEvent) => {
          if (detached) return;
          if (e.type === 'error') {
            if (side === 'primary' && !e.recovered) pendingError = e;
            else forward(e);
            return;
          }
          if (e.type === 'restart') {
            forward(e);
            return;
          }
          const errorDrop = e.type === 'dropped' && pendingError !== undefined;
          if (side === 'primary' && errorDrop) {
            held.push(pendingError!, shift(e));
            pendingError = undefined;
            pos += e.samples;
            if (this.noteError()) requestSwitch('fallback', `${this.consecutive} consecutive errors on ${this.primary.name} (last: ${e.reason})`);
            return;
          }
          if (side === 'primary' && e.type === 'transcribed') this.consecutive = 0;
          flushHeld();
          if (pendingError) {
            forward(pendingError);
            pendingError = undefined;
          }
          pos += e.samples;
          finalized = pos;
          buffer.release(finalized);
          forward(shift(e));
          if (wantBack && this.side !== side) requestSwitch(this.side, 'primary recovered');
        };
        const offSwitch = this.on('switch', (s) => {
          if (s.to === side) return;
          // Away from a broken primary at once; back from the fallback at the next chunk boundary.
          if (s.to === 'fallback') requestSwitch('fallback', s.reason);
          else wantBack = true;
        });
        // The pair may have switched while this stream was moving.
        if (this.side !== side) {
          if (this.side === 'fallback') requestSwitch('fallback', this.lastSwitch?.reason ?? 'failed over');
          else wantBack = true;
        }

        const iterator = provider.transcribe(reader, { ...opts, signal, onEvent })[Symbol.asyncIterator]();
        let crash: { error: unknown } | undefined;
        try {
          while (!switchTo) {
            const r = await iterator.next();
            if (r.done) break;
            // After a switch request only segments of audio already accounted for pass.
            const seg = shiftSegment(r.value, offset);
            if (!switchTo || seg.end * rate <= finalized + 1) yield seg;
          }
        } catch (err) {
          if (opts.signal?.aborted) throw err;
          // eslint-disable-next-line @typescript-eslint/only-throw-error -- the source's own error, as it threw it
          if (buffer.sourceError !== undefined) throw buffer.sourceError;
          if (!switchTo) {
            if (side === 'primary' && !isAbort(err)) {
              crash = { error: err };
              requestSwitch('fallback', `${this.primary.name} failed: ${this.errorSummary(err)}`);
            } else {
              dropRest(`stream failed: ${this.errorSummary(err)}`);
              throw err;
            }
          }
        } finally {
          offSwitch();
        }
        if (!switchTo) {
          // The measured side settled everything it consumed (or, aborted, left it to the caller).
          if (pendingError) forward(pendingError);
          flushHeld();
          return;
        }
        // Abandon this run (its late events are ignored) and move the unaccounted audio.
        void Promise.resolve(iterator.return?.()).catch(() => undefined);
        const to: FailoverSide = switchTo;
        const ok = to === 'fallback' ? await this.failover(switchReason) : this.side === 'primary';
        if (!ok) {
          // No usable fallback: what failed stays failed; carry on with the primary from here.
          if (crash) {
            dropRest(`stream failed: ${this.errorSummary(crash.error)}`);
            throw crash.error;
          }
          flushHeld();
          forward({ type: 'error', code: 'FAILOVER_FAILED', message: `could not fail over to ${this.fallback.name}; staying on ${this.primary.name}`, recovered: false });
          continue;
        }
        for (const e of held) if (e.type === 'error') forward({ ...e, recovered: true });
        held = [];
        this.logger.warn({ to, at: finalized / rate, reason: switchReason }, 'moving stream');
        forward({ type: 'restart', reason: `moved to ${this.providerOf(to).name} at ${(finalized / rate).toFixed(3)} s: ${switchReason}` });
        side = to;
      }
    } finally {
      buffer.close();
    }
  }

  private providerOf(side: FailoverSide): HostProvider {
    return side === 'primary' ? this.primary : this.fallback;
  }

  /** Counts a primary error; true when the failover threshold is reached. */
  private noteError(): boolean {
    this.consecutive++;
    return this.consecutive >= (this.options.errorsBeforeFailover ?? 3);
  }

  private errorSummary(err: unknown): string {
    return isEchoPanelError(err) ? `${err.code}: ${err.message}` : errorMessage(err);
  }

  private switchTo(to: FailoverSide, reason: string): void {
    const from = this.side;
    this.side = to;
    this.consecutive = 0;
    const at = this.clock.date().toISOString();
    this.lastSwitch = { to, reason, at };
    this.logger.warn({ from, to, reason }, to === 'fallback' ? 'FAILOVER' : 'back to the primary');
    this.listeners.emit('switch', { from, to, provider: this.providerOf(to).name, reason, at });
  }

  private startAutoRecover(): void {
    const every = this.options.autoRecoverMs ?? 0;
    if (every <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.recoverPrimary().catch(() => undefined);
    }, every);
    this.timer.unref();
  }

  private stopAutoRecover(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

async function tinyDecode(provider: ASRProvider, pcm: Int16Array, signal: AbortSignal): Promise<void> {
  if (provider.capabilities.decode && provider.decode) {
    await provider.decode(pcm, { sampleRate: 16000, signal });
    return;
  }
  let failed: string | undefined;
  const onEvent = (e: TranscriptionEvent) => {
    if (e.type === 'error' && !e.recovered) failed ??= `${e.code}: ${e.message}`;
  };
  for await (const _ of provider.transcribe(pcmFrames(pcm), { sampleRate: 16000, signal, onEvent })) {
    // drain
  }
  if (failed) throw new EchoPanelError('INFERENCE_FAILED', failed);
}

function isAbort(err: unknown): boolean {
  return isEchoPanelError(err) && err.code === 'ABORTED';
}

function isCrash(err: unknown): boolean {
  return isEchoPanelError(err) && CRASH_CODES.has(err.code);
}

function shiftSegment(s: Segment, offset: number): Segment {
  if (offset === 0) return s;
  return {
    ...s,
    start: round3(s.start + offset),
    end: round3(s.end + offset),
    ...(s.words ? { words: s.words.map((w) => ({ ...w, start: round3(w.start + offset), end: round3(w.end + offset) })) } : {}),
  };
}
