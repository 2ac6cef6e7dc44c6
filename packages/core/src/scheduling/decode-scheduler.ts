import { SlidingWindow } from '@echopanel/engine-kit';
import {
  type DecodeBatchItem,
  type DecodeOptions,
  EchoPanelError,
  errorMessage,
  type Logger,
  type Segment,
  silentLogger,
} from '@echopanel/plugin-api';
import { EngineLoad } from './engine-load.js';

/**
 * What a decode is for, in the order the scheduler serves them: a stream's `final`, a decode `ahead` of a
 * possible end of utterance, a `recording` (upload) piece, a `partial`. `ahead` and `partial` are skipped when
 * the engine is behind.
 */
export type DecodePriority = 'final' | 'ahead' | 'recording' | 'partial';

/** Decode options as the host passes them to a measured provider: the contract's plus how to schedule it. */
export interface ScheduledDecodeOptions extends DecodeOptions {
  /** Default `final`. */
  readonly priority?: DecodePriority;
  /** The stream asking (any object, the same for all its decodes): a lone stream never waits for a batch window. */
  readonly stream?: object;
  /**
   * Withdraws a partial or decode-ahead while it still waits (rejected with `ABORTED`, counted as skipped);
   * ignored once it runs. A stream uses it when its next final is ready: that final must not wait behind it.
   */
  readonly withdraw?: AbortSignal;
}

/** `asr.scheduler` in the config. */
export interface DecodeSchedulerSettings {
  /** Decode utterances of several streams in one engine call when the provider implements `decodeBatch`. */
  readonly batching: boolean;
  /** With other streams active, an idle engine waits this long for more utterances before it starts. */
  readonly batchWindowMs: number;
  /** Most utterances per batch (the provider's `maxBatchSize` caps it too). */
  readonly maxBatchSize: number;
  /** A partial or decode-ahead that waited longer than this is skipped (its audio is decoded again later anyway). */
  readonly optionalMaxWaitMs: number;
}

/**
 * Batching is off by default: on 2 quiet CPU cores, faster-whisper's two parallel decodes served 12 real-time
 * streams of real speech (8 streams: finals p95 1.3 s) where batches of their utterances kept up with 6 (8 streams:
 * 3.5 s); a CPU call's time grows with every utterance in it. Turn it on for engines that batch for free (a GPU).
 */
export const DEFAULT_SCHEDULER_SETTINGS: DecodeSchedulerSettings = { batching: false, batchWindowMs: 30, maxBatchSize: 8, optionalMaxWaitMs: 1000 };

/** The engine calls the scheduler makes (the measured provider's, so the host times each of them). */
export interface SchedulerEngine {
  decode?(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]>;
  decodeRecording?(pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]>;
  decodeBatch?(items: readonly DecodeBatchItem[]): Promise<Segment[][]>;
  /** What the provider declares it takes per `decodeBatch` call. */
  readonly maxBatchSize?: number;
  /** Calls the provider runs at once. */
  readonly parallelDecodes?: number;
}

/** What `/health` and `/metrics` show of the scheduler. */
export interface DecodeSchedulerStats {
  /** Decodes waiting for the engine. */
  readonly queued: number;
  /** Seconds of audio in waiting finals and recording pieces. */
  readonly queuedSeconds: number;
  /** Share of wall time the engine needs for finals and recordings (see {@link EngineLoad}); ≥ 1 is behind. */
  readonly load: number;
  /** Wait from submission to the engine, ms, per priority (p50/p95 over the recent decodes). */
  readonly waitMs: Readonly<Record<DecodePriority, { readonly p50: number; readonly p95: number; readonly count: number }>>;
  /** Engine calls made, and the utterances they carried (mean batch size = items / calls). */
  readonly calls: number;
  readonly items: number;
  /** Calls by number of utterances carried (1, 2, …). */
  readonly batchSizes: Readonly<Record<string, number>>;
  /** Partials and decode-aheads skipped because the engine was behind or they waited too long. */
  readonly skipped: Readonly<Record<'ahead' | 'partial', number>>;
  /** Batches the engine failed as a whole, whose utterances were then decoded one by one. */
  readonly batchFailures: number;
}

interface Pending {
  readonly method: 'decode' | 'decodeRecording';
  readonly pcm: Int16Array;
  readonly opts: DecodeOptions;
  readonly priority: DecodePriority;
  readonly stream?: object;
  readonly enqueuedAt: number;
  readonly audioSeconds: number;
  settled: boolean;
  resolve(segments: Segment[]): void;
  reject(err: unknown): void;
  detach(): void;
}

const RANK: Record<DecodePriority, number> = { final: 0, ahead: 1, recording: 2, partial: 3 };
const PRIORITIES = Object.keys(RANK) as DecodePriority[];
/** A stream that submitted within this long counts as active (others then wait a batch window for it). */
const ACTIVE_STREAM_MS = 5000;

function isOptional(p: Pending): boolean {
  return p.priority === 'ahead' || p.priority === 'partial';
}

/**
 * Orders every one-shot decode of one provider — all its streams' finals, partials and decode-aheads, and
 * upload pieces — onto its engine, as many calls at a time as it runs (`parallelDecodes`, one slot of them
 * kept from partials): finals first, then oldest first; partials and
 * decode-aheads are skipped (rejected with `ABORTED`) when finals are waiting that the next call cannot carry,
 * or when they waited past `optionalMaxWaitMs`. With a provider that implements `decodeBatch`, the waiting
 * utterances go to the engine together, up to the batch size (finals with finals, partials with partials); an
 * idle engine waits a short window for other active streams' utterances, never for a lone stream's.
 */
export class DecodeScheduler {
  private readonly settings: DecodeSchedulerSettings;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly batchCap: number;
  /** Engine calls at once (the provider's `parallelDecodes`). */
  private readonly parallel: number;
  private queue: Pending[] = [];
  private inFlight = 0;
  private optionalInFlight = 0;
  private scheduled = false;
  private readonly lastSubmit = new Map<object, number>();
  private readonly load: EngineLoad;
  private readonly waits = Object.fromEntries(PRIORITIES.map((p) => [p, new SlidingWindow(200)])) as Record<DecodePriority, SlidingWindow>;
  private calls = 0;
  private items = 0;
  private batchFailures = 0;
  private readonly batchSizes: Record<string, number> = {};
  private readonly skippedCount = { ahead: 0, partial: 0 };

  constructor(
    private readonly engine: SchedulerEngine,
    settings: Partial<DecodeSchedulerSettings> = {},
    options: { logger?: Logger; now?: () => number } = {},
  ) {
    this.settings = { ...DEFAULT_SCHEDULER_SETTINGS, ...settings };
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? (() => performance.now());
    const cap = Math.min(this.settings.maxBatchSize, engine.maxBatchSize ?? 1);
    this.batchCap = this.settings.batching && engine.decodeBatch && cap > 1 ? Math.floor(cap) : 1;
    this.parallel = Math.max(1, Math.floor(engine.parallelDecodes ?? 1));
    this.load = new EngineLoad(this.now, this.parallel);
  }

  /** One utterance through the engine, in its turn (see the class). */
  decode(pcm: Int16Array, opts: ScheduledDecodeOptions): Promise<Segment[]> {
    return this.submit('decode', pcm, opts);
  }

  /** A whole recording (or a piece of one) through the engine's long-form decoding, in its turn. */
  decodeRecording(pcm: Int16Array, opts: ScheduledDecodeOptions): Promise<Segment[]> {
    return this.submit('decodeRecording', pcm, { ...opts, priority: opts.priority ?? 'recording' });
  }

  stats(): DecodeSchedulerStats {
    const waitMs = Object.fromEntries(
      PRIORITIES.map((p) => [p, { p50: this.waits[p].percentile(50), p95: this.waits[p].percentile(95), count: this.waits[p].size }]),
    ) as DecodeSchedulerStats['waitMs'];
    return {
      queued: this.queue.length,
      queuedSeconds: this.essentialWaitingSeconds(),
      load: this.load.value(this.essentialWaitingSeconds()),
      waitMs,
      calls: this.calls,
      items: this.items,
      batchSizes: { ...this.batchSizes },
      skipped: { ...this.skippedCount },
      batchFailures: this.batchFailures,
    };
  }

  private submit(method: Pending['method'], pcm: Int16Array, opts: ScheduledDecodeOptions): Promise<Segment[]> {
    const { priority = 'final', stream, withdraw, ...engineOpts } = opts;
    const signal = engineOpts.signal;
    if (signal?.aborted) return Promise.reject(new EchoPanelError('ABORTED', 'the request was cancelled'));
    return new Promise<Segment[]>((resolve, reject) => {
      const onAbort = () => {
        this.queue = this.queue.filter((q) => q !== p);
        settle(p, () => reject(new EchoPanelError('ABORTED', 'the request was cancelled')));
      };
      const onWithdraw = () => {
        if (!isOptional(p) || !this.queue.includes(p)) return;
        this.queue = this.queue.filter((q) => q !== p);
        this.skip(p, 'its stream has a final ready');
      };
      const p: Pending = {
        method,
        pcm,
        opts: engineOpts,
        priority,
        ...(stream ? { stream } : {}),
        enqueuedAt: this.now(),
        audioSeconds: pcm.length / engineOpts.sampleRate,
        settled: false,
        resolve,
        reject,
        detach: () => {
          signal?.removeEventListener('abort', onAbort);
          withdraw?.removeEventListener('abort', onWithdraw);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      withdraw?.addEventListener('abort', onWithdraw, { once: true });
      if (stream) this.noteStream(stream, p.enqueuedAt);
      this.queue.push(p);
      this.kick(p);
    });
  }

  /** Starts the next engine calls unless every slot is taken or a start is about to happen. */
  private kick(latest?: Pending): void {
    if (this.inFlight >= this.parallel || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    const wait = latest ? this.windowFor(latest) : 0;
    const go = () => {
      this.scheduled = false;
      this.dispatch();
    };
    // setImmediate even without a window: decodes submitted in the same tick join the same call.
    if (wait > 0) setTimeout(go, wait);
    else setImmediate(go);
  }

  /** Remembers which streams are active (for the batch window only), forgetting the ones gone quiet. */
  private noteStream(stream: object, at: number): void {
    if (this.batchCap <= 1 || this.settings.batchWindowMs <= 0) return;
    for (const [s, last] of this.lastSubmit) if (last < at - ACTIVE_STREAM_MS) this.lastSubmit.delete(s);
    this.lastSubmit.set(stream, at);
  }

  /** How long an idle engine waits for more utterances after `p` arrived. */
  private windowFor(p: Pending): number {
    if (this.batchCap <= 1 || this.settings.batchWindowMs <= 0 || p.method !== 'decode') return 0;
    if (this.queue.filter((q) => q.method === 'decode').length >= this.batchCap) return 0;
    for (const stream of this.lastSubmit.keys()) if (stream !== p.stream) return this.settings.batchWindowMs;
    return 0;
  }

  private dispatch(): void {
    while (this.inFlight < this.parallel) {
      const batch = this.take();
      if (batch.length === 0) return;
      void this.call(batch);
    }
  }

  private async call(batch: Pending[]): Promise<void> {
    const optional = isOptional(batch[0]);
    this.inFlight++;
    if (optional) this.optionalInFlight++;
    const started = this.now();
    for (const p of batch) this.waits[p.priority].push(started - p.enqueuedAt);
    this.calls++;
    this.items += batch.length;
    this.batchSizes[String(batch.length)] = (this.batchSizes[String(batch.length)] ?? 0) + 1;
    const outcomes = batch.length === 1 ? [await this.attempt(batch[0])] : await this.attemptBatch(batch);
    let essential = 0;
    let total = 0;
    for (const p of batch) {
      total += p.audioSeconds;
      if (!isOptional(p)) essential += p.audioSeconds;
    }
    // Measured before anyone hears back, so a caller reading the stats sees its own decode in them.
    this.load.record(this.now() - started, essential, total);
    this.inFlight--;
    if (optional) this.optionalInFlight--;
    batch.forEach((p, i) => settle(p, outcomes[i]));
    this.kick();
  }

  /** The next engine call's decodes, in order; skips the optional ones the engine has no time for. */
  private take(): Pending[] {
    const now = this.now();
    this.queue.sort((a, b) => RANK[a.priority] - RANK[b.priority] || a.enqueuedAt - b.enqueuedAt);
    const essentials = this.queue.filter((p) => !isOptional(p)).length;
    const behind = essentials > this.batchCap;
    this.queue = this.queue.filter((p) => {
      if (!isOptional(p) || (!behind && now - p.enqueuedAt <= this.settings.optionalMaxWaitMs)) return true;
      this.skip(p, behind ? 'the engine is behind on finals' : `it waited over ${this.settings.optionalMaxWaitMs} ms for the engine`);
      return false;
    });
    // With several slots, one is always kept from partials: a final never waits for them to finish.
    const optionalAllowed = this.parallel === 1 || this.optionalInFlight < this.parallel - 1;
    const head = this.queue[0];
    if (!head || (isOptional(head) && !optionalAllowed)) return [];
    if (head.method === 'decodeRecording' || this.batchCap <= 1) {
      this.queue.shift();
      return [head];
    }
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    // Finals go without partials: on a CPU every utterance in a call adds to its time, and a final is waited for.
    const kin = (p: Pending) => p.method === 'decode' && isOptional(p) === isOptional(head);
    // What waits is shared out over the free slots: two calls at once finish sooner than one twice as large.
    const freeSlots = this.parallel - this.inFlight;
    const size = Math.min(this.batchCap, Math.ceil(this.queue.filter(kin).length / freeSlots));
    const fits = (p: Pending) => kin(p) && batch.length < size;
    for (const p of this.queue) (fits(p) ? batch : rest).push(p);
    this.queue = rest;
    return batch;
  }

  private skip(p: Pending, why: string): void {
    this.skippedCount[p.priority as 'ahead' | 'partial']++;
    settle(p, () => p.reject(new EchoPanelError('ABORTED', `${p.priority} decode skipped: ${why}`)));
  }

  /** One decode; its outcome, to hand to its caller. */
  private async attempt(p: Pending): Promise<() => void> {
    try {
      if (!this.engine[p.method]) throw new EchoPanelError('INVALID_STATE', `the provider does not implement ${p.method}()`);
      const segments = await this.engine[p.method]!(p.pcm, p.opts);
      return () => p.resolve(segments);
    } catch (err) {
      return () => p.reject(err);
    }
  }

  private async attemptBatch(batch: Pending[]): Promise<(() => void)[]> {
    try {
      const results = await this.engine.decodeBatch!(batch.map((p) => ({ pcm: p.pcm, opts: p.opts })));
      if (!Array.isArray(results) || results.length !== batch.length || !results.every(Array.isArray)) {
        throw new EchoPanelError('INVALID_PLUGIN', `decodeBatch returned ${Array.isArray(results) ? results.length : typeof results} results for ${batch.length} utterances`);
      }
      return batch.map((p, i) => () => p.resolve(results[i]));
    } catch (err) {
      // One utterance can fail a whole batch (bad audio, a crash it caused): each one alone gets its own outcome.
      this.batchFailures++;
      this.logger.warn({ err: errorMessage(err), size: batch.length }, 'batch decode failed; decoding its utterances one by one');
      const outcomes: (() => void)[] = [];
      for (const p of batch) outcomes.push(p.settled ? () => undefined : await this.attempt(p));
      return outcomes;
    }
  }

  /** Seconds of audio of the waiting decodes that cannot be skipped. */
  private essentialWaitingSeconds(): number {
    let s = 0;
    for (const p of this.queue) if (!isOptional(p)) s += p.audioSeconds;
    return s;
  }
}

function settle(p: Pending, how: () => void): void {
  if (p.settled) return;
  p.settled = true;
  p.detach();
  how();
}
