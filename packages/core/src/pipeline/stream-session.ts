import {
  type ASRProvider,
  type AudioSource,
  EchoPanelError,
  errorMessage,
  isEchoPanelError,
  type Logger,
  round3,
  type Segment,
  silentLogger,
  type TranscriptionEvent,
  type VoiceActivityDetector,
} from '@echopanel/plugin-api';
import { SessionCounter } from '../health/session-counter.js';
import type { ScheduledDecodeOptions } from '../scheduling/decode-scheduler.js';
import { FrameQueue, type QueuedFrame } from './frame-queue.js';
import { LocalAgreement } from './local-agreement.js';
import type { StreamEvent, StreamStats } from './stream-events.js';
import { VadSegmenter, type SegmenterOutput } from './vad-segmenter.js';

export type SegmentationMode = 'vad' | 'fixed';

/** How a stream tells the degrade ladder it is behind, and asks it whether to drop. */
export interface PipelineLoadControl {
  /** The stream's backlog (seconds of received audio not yet through the engine) after each change. */
  reportBacklog?(backlogSeconds: number): void;
  /**
   * Asked once per segment (`vad`) or block of chunkSeconds (`fixed`) of `samples` about to go to the engine;
   * true = drop it (the degrade ladder's drop action). The stream counts what it drops.
   */
  shouldDropChunk?(samples: number): boolean;
}

export interface StreamSessionOptions {
  readonly provider: ASRProvider;
  /** Per-stream detector for `vad` segmentation. Without one (or a provider without `decode`), `fixed` is used. */
  readonly detector?: VoiceActivityDetector;
  readonly segmentation?: SegmentationMode;
  /** Rate of the PCM pushed (the transport resamples to this first). Default 16000. */
  readonly sampleRate?: number;
  readonly language?: string;
  readonly source?: AudioSource;
  readonly prompt?: string;
  /** `vad`: longest segment before a cut at the quietest point (default 15). */
  readonly maxSegmentSeconds?: number;
  /** `vad`: re-decode interval of the open utterance for partials; 0 disables (default 1). */
  readonly partialIntervalSeconds?: number;
  /** `vad`: the first partial once the utterance is this long (default: half the interval). */
  readonly firstPartialSeconds?: number;
  /** `vad`: audio before the detected speech start kept in the utterance (default 0.3). */
  readonly prefixPaddingSeconds?: number;
  /** `vad`: silence that ends an utterance; shorter pauses merge into it (default 0.5). */
  readonly endpointSilenceSeconds?: number;
  /**
   * `vad`: who ends a turn (the unit a client sees as one item, see `turn-end`): `vad` at each utterance's
   * endpoint, or `client` by {@link StreamSession.commit} only (pauses then never end one; OpenAI's
   * `turn_detection: null`). Default `vad`.
   */
  readonly turnDetection?: 'vad' | 'client';
  /**
   * `vad`: prompt each utterance with the text of the finals before it (the last ~200 characters), as
   * whisper's long-form decoding conditions on previous text (default true).
   */
  readonly contextPrompt?: boolean;
  /** `fixed`: seconds per block the drop policy decides on (default 2, the provider chunks on its own). */
  readonly chunkSeconds?: number;
  /** Audio waiting for the engine beyond this is dropped, oldest first, and counted (default 30). */
  readonly maxBacklogSeconds?: number;
  /** A shared counter (e.g. server-wide) the stream also reports its samples to. */
  readonly counter?: SessionCounter;
  readonly load?: PipelineLoadControl;
  readonly logger?: Logger;
  /**
   * `vad`: silence added before and after each utterance handed to `decode` (not counted as received audio).
   * Whisper models transcribe speech that starts right at the first sample noticeably worse (default 0.2).
   */
  readonly decodePadSeconds?: number;
  /** `vad`: ask the engine for word timestamps. */
  readonly wordTimestamps?: boolean;
  /** `vad`: told about every decode call (wall time including the engine's queue, audio seconds). */
  readonly onDecode?: (ms: number, audioSeconds: number) => void;
  /** Receives every event, `done` last. */
  readonly onEvent: (event: StreamEvent) => void;
}

type AudioJob =
  | { readonly kind: 'final'; readonly start: number; readonly end: number; readonly pcm: Int16Array; readonly turn: number }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number; readonly pcm: Int16Array; readonly utterance: number; readonly turn: number }
  /** The open utterance up to a pause that may be its end, decoded ahead so its final needs no decode then. */
  | { readonly kind: 'ahead'; readonly start: number; readonly end: number; readonly pcm: Int16Array; readonly turn: number };

/** Queued after a turn's last final: its `turn-done` comes once everything before it was decoded. */
type DecodeJob = AudioJob | { readonly kind: 'turn-done'; readonly turn: number };

/** Characters of earlier finals that prompt the next utterance. */
const CONTEXT_CHARS = 200;

/**
 * One live audio stream through the engine: PCM frames in, `partial` / `final` / `status` / `error` events out
 * and `done` with the stream's sample accounting last. `vad` mode cuts at pauses and decodes each utterance
 * (partials by re-decoding the growing utterance, confirmed by local agreement); `fixed` mode hands the frames
 * to the provider's own `transcribe`. Queues are bounded: audio the engine cannot keep up with is dropped,
 * oldest first, and counted.
 */
export class StreamSession {
  /** The segmentation actually used. */
  readonly mode: SegmentationMode;
  readonly sampleRate: number;
  private readonly opts: StreamSessionOptions;
  private readonly logger: Logger;
  private readonly own = new SessionCounter();
  private readonly ownHandle: ReturnType<SessionCounter['open']>;
  private readonly sharedHandle?: ReturnType<SessionCounter['open']>;
  private readonly input = new FrameQueue();
  private readonly abortController = new AbortController();
  private readonly maxBacklog: number;
  private readonly finished: Promise<StreamStats>;
  private received = 0;
  private finals = 0;
  private textless = 0;
  private partials = 0;
  private readonly dropReasons: Record<string, number> = {};
  private dropping = false;
  private ended = false;
  private lastBacklogReported = -1;

  // vad mode
  private segmenter?: VadSegmenter;
  private jobs: DecodeJob[] = [];
  private jobSamples = 0;
  private jobWaiter?: () => void;
  private jobsClosed = false;
  private decoding?: DecodeJob;
  private utterance = 0;
  private lastPartialAt = 0;
  private agreement = new LocalAgreement();
  /** Withdraws the partial or decode-ahead in the scheduler's queue, if one waits there. */
  private withdrawOptional?: AbortController;
  /** The latest decode-ahead: its range and result (reused by the final of exactly that range). */
  private ahead?: { start: number; end: number; utterance: number; turn: number; segments?: Segment[]; toldAsPartial?: boolean };
  /** Text of the finals so far (the tail prompts the next utterance). */
  private context = '';
  /** The turn audio now goes to; the last turn whose speech start was announced; where the current turn began. */
  private turn = 1;
  private announcedTurn = 0;
  private turnStart = 0;
  /** Why a turn's audio was not transcribed (reported with its `turn-done`). */
  private readonly turnFailures = new Map<number, { code: string; message: string }>();

  // fixed mode: provider-timeline → stream-timeline after drops
  private fedToProvider = 0;
  private providerAccounted = 0;
  private timeShifts: { at: number; shift: number }[] = [];

  constructor(options: StreamSessionOptions) {
    this.opts = options;
    this.logger = options.logger ?? silentLogger;
    this.sampleRate = options.sampleRate ?? 16000;
    this.maxBacklog = Math.round((options.maxBacklogSeconds ?? 30) * this.sampleRate);
    const wantVad = (options.segmentation ?? 'vad') === 'vad';
    const canVad = !!options.detector && typeof options.provider.decode === 'function' && options.provider.capabilities.decode === true;
    this.mode = wantVad && canVad ? 'vad' : 'fixed';
    this.ownHandle = this.own.open();
    this.sharedHandle = options.counter?.open();
    if (this.mode === 'vad') {
      const endpoint = options.turnDetection === 'client' ? Infinity : options.endpointSilenceSeconds;
      this.segmenter = new VadSegmenter(options.detector!, {
        sampleRate: this.sampleRate,
        maxSegmentSeconds: options.maxSegmentSeconds ?? 15,
        ...(options.prefixPaddingSeconds !== undefined ? { prefixPaddingSeconds: options.prefixPaddingSeconds } : {}),
        ...(endpoint !== undefined ? { endpointSilenceSeconds: endpoint } : {}),
      });
    }
    this.finished = (this.mode === 'vad' ? this.runVad() : this.runFixed()).then(
      () => this.finish(),
      (err) => {
        this.emit({ type: 'error', code: isEchoPanelError(err) ? err.code : 'INFERENCE_FAILED', message: errorMessage(err), recovered: false });
        return this.finish();
      },
    );
  }

  /** Hands a frame of mono s16 PCM at {@link sampleRate} to the stream. Never blocks; overflow is dropped and counted. */
  push(pcm: Int16Array): void {
    if (this.ended || this.input.isClosed) throw new EchoPanelError('INVALID_STATE', 'audio pushed after the stream was stopped');
    if (pcm.length === 0) return;
    const frame: QueuedFrame = { pcm, start: this.received };
    this.received += pcm.length;
    this.input.push(frame);
    this.enforceBacklog();
    this.afterProgress();
  }

  /**
   * Ends the current turn at the audio pushed so far (OpenAI's `input_audio_buffer.commit`), in order with the
   * audio: `turn-end` follows even when the turn holds no speech, then its finals and `turn-done`. `vad` mode only.
   */
  commit(): void {
    this.pushControl('commit');
  }

  /**
   * Discards the current turn's audio not yet ended (OpenAI's `input_audio_buffer.clear`; counted as dropped,
   * reason `cleared`), in order with the audio; `cleared` follows. `vad` mode only.
   */
  clear(): void {
    this.pushControl('clear');
  }

  private pushControl(control: 'commit' | 'clear'): void {
    if (this.ended || this.input.isClosed) throw new EchoPanelError('INVALID_STATE', `${control} after the stream was stopped`);
    if (this.mode !== 'vad') throw new EchoPanelError('NOT_SUPPORTED', `${control} needs vad segmentation (a provider with decode and a VAD); this stream runs in fixed mode`);
    this.input.push({ pcm: new Int16Array(0), start: this.received, control });
  }

  /** No more audio: decodes what is buffered, emits every final, then `done`. Resolves with the stats. */
  end(): Promise<StreamStats> {
    if (!this.ended) {
      this.ended = true;
      this.input.close();
    }
    return this.finished;
  }

  /** Stops now: audio not yet decoded is dropped (counted with `reason`), then `done`. */
  abort(reason = 'aborted'): Promise<StreamStats> {
    if (!this.abortController.signal.aborted) this.abortController.abort(new EchoPanelError('ABORTED', reason));
    this.ended = true;
    for (const f of this.input.drain()) this.dropRange(f.start, f.start + f.pcm.length, reason);
    this.input.close();
    this.dropQueuedJobs(reason);
    this.wakeJobs();
    return this.finished;
  }

  /** Settles with the stats after `done` (without ending the stream). */
  whenDone(): Promise<StreamStats> {
    return this.finished;
  }

  /** Seconds of audio waiting for the engine or in it (not counting the open utterance still being spoken). */
  get backlogSeconds(): number {
    const inFlight = this.mode === 'vad'
      ? this.jobSamples + (this.decoding?.kind === 'final' ? this.decoding.pcm.length : 0)
      : this.fedToProvider - this.providerAccounted;
    return (this.input.queuedSamples + inFlight) / this.sampleRate;
  }

  get isAborted(): boolean {
    return this.abortController.signal.aborted;
  }

  stats(): StreamStats {
    const s = this.own.snapshot();
    return {
      receivedSamples: this.received,
      transcribedSamples: s.transcribedSamples,
      silenceSamples: s.skippedSamples,
      droppedSamples: s.droppedSamples,
      pendingSamples: this.received - s.receivedSamples,
      finals: this.finals,
      textlessUtterances: this.textless,
      partials: this.partials,
      dropReasons: { ...this.dropReasons },
    };
  }

  // ---- vad mode ------------------------------------------------------------------------------------------

  private async runVad(): Promise<void> {
    const seg = this.segmenter!;
    const decoder = this.decodeLoop();
    try {
      for (;;) {
        const frame = await this.input.take();
        if (!frame) break;
        if (this.isAborted) {
          this.dropRange(frame.start, frame.start + frame.pcm.length, this.abortReason());
          continue;
        }
        if (frame.control) {
          this.applyControl(frame.control, frame.start);
          continue;
        }
        let outs: SegmenterOutput[];
        try {
          outs = await seg.push(frame.pcm);
        } catch (err) {
          // A broken detector loses what it held, counted; the stream goes on with a fresh detector state.
          const lost = seg.abandon();
          this.emit({ type: 'error', code: 'VAD_FAILED', message: `voice activity detection failed: ${errorMessage(err)}`, recovered: true });
          this.dropRange(lost.start, lost.end, 'VAD_FAILED');
          continue;
        }
        this.handleSegments(outs);
        this.announceSpeech();
        this.maybePartial();
      }
      if (this.isAborted) {
        const lost = seg.abandon();
        this.dropRange(lost.start, lost.end, this.abortReason());
      } else {
        this.handleSegments(seg.flush());
        // Uncommitted speech at the end of a client-committed stream is a turn too: its finals are not lost.
        if (this.opts.turnDetection === 'client' && this.announcedTurn === this.turn) this.endTurn(this.turnStart, this.received);
      }
    } finally {
      this.jobsClosed = true;
      this.wakeJobs();
      await decoder;
    }
  }

  private handleSegments(outs: readonly SegmenterOutput[]): void {
    for (const o of outs) {
      if (o.type === 'silence') {
        this.account({ type: 'skipped', samples: o.end - o.start, reason: 'silence', start: o.start / this.sampleRate, end: o.end / this.sampleRate });
        continue;
      }
      // The utterance closed: partials of it are stale, and one still waiting for the engine would delay the final.
      this.withdrawOptional?.abort();
      this.utterance++;
      this.lastPartialAt = 0;
      this.agreement.reset();
      this.jobs = this.jobs.filter((j) => j.kind === 'final' || j.kind === 'turn-done');
      const turn = this.turn;
      if (this.opts.load?.shouldDropChunk?.(o.end - o.start)) {
        this.dropRange(o.start, o.end, 'degrade: dropping chunks');
        this.failTurn(turn, 'AUDIO_DROPPED', 'the server is overloaded (degrade level emergency): this audio was dropped untranscribed');
      } else {
        this.jobs.push({ kind: 'final', start: o.start, end: o.end, pcm: o.pcm, turn });
        this.jobSamples += o.pcm.length;
        this.enforceBacklog();
      }
      if (this.opts.turnDetection !== 'client') this.endTurn(o.start, o.end);
      this.wakeJobs();
    }
    this.afterProgress();
  }

  /** Emits `speech-start` once per turn, when the segmenter opens its first utterance. */
  private announceSpeech(): void {
    const start = this.segmenter!.openStart;
    if (start === undefined || this.announcedTurn === this.turn) return;
    this.announcedTurn = this.turn;
    this.emit({ type: 'speech-start', turn: this.turn, start: round3(start / this.sampleRate) });
  }

  /** Closes the current turn: `turn-end` now, `turn-done` once its finals are through the decoder. */
  private endTurn(start: number, end: number): void {
    const turn = this.turn++;
    this.turnStart = end;
    this.emit({ type: 'turn-end', turn, start: round3(start / this.sampleRate), end: round3(end / this.sampleRate) });
    this.jobs.push({ kind: 'turn-done', turn });
    this.wakeJobs();
  }

  private failTurn(turn: number, code: string, message: string): void {
    if (!this.turnFailures.has(turn)) this.turnFailures.set(turn, { code, message });
  }

  /** A commit or clear marker reached the segmenter: everything pushed before it has been segmented. */
  private applyControl(control: 'commit' | 'clear', at: number): void {
    const seg = this.segmenter!;
    if (control === 'commit') {
      const outs = seg.commit();
      this.handleSegments(outs);
      // With server turn detection each utterance already ended its turn; a commit without one ends an empty turn.
      if (this.opts.turnDetection === 'client' || !outs.some((o) => o.type === 'segment')) this.endTurn(this.turnStart, at);
      this.announceSpeech();
      return;
    }
    const lost = seg.abandon();
    this.dropRange(lost.start, lost.end, 'cleared');
    const turn = this.turn++;
    this.turnStart = at;
    this.utterance++;
    this.lastPartialAt = 0;
    this.agreement.reset();
    this.ahead = undefined;
    const kept: DecodeJob[] = [];
    for (const j of this.jobs) {
      if (j.kind === 'final' && j.turn === turn) {
        this.jobSamples -= j.pcm.length;
        this.dropRange(j.start, j.end, 'cleared');
      } else if (j.kind === 'final' || j.kind === 'turn-done') kept.push(j);
    }
    this.jobs = kept;
    this.emit({ type: 'cleared', turn });
    this.afterProgress();
  }

  private maybePartial(): void {
    const seg = this.segmenter!;
    const start = seg.openStart;
    if (start === undefined) return;
    this.aheadAsPartial();
    // In a pause that may end the utterance: decode it now, so that when the endpoint silence confirms the end
    // the final is ready (its latency is then the endpoint silence, not endpoint + decode).
    const tentative = seg.tentativeEnd;
    if (tentative !== undefined) {
      if (this.ahead?.start === start && this.ahead.end === tentative) return;
      if (this.decoding || this.jobs.length > 0) return;
      this.ahead = { start, end: tentative, utterance: this.utterance, turn: this.turn };
      this.jobs.push({ kind: 'ahead', start, end: tentative, pcm: seg.openAudio(tentative), turn: this.turn });
      this.wakeJobs();
      return;
    }
    const interval = (this.opts.partialIntervalSeconds ?? 1) * this.sampleRate;
    if (interval <= 0) return;
    const length = seg.received - start;
    const due = this.lastPartialAt === 0 ? (this.opts.firstPartialSeconds !== undefined ? this.opts.firstPartialSeconds * this.sampleRate : interval / 2) : this.lastPartialAt + interval;
    if (length < due) return;
    // Partials are a luxury: only when the engine has nothing else of this stream to do, and not while speech
    // is trailing off — a partial started then is still decoding when the final arrives and delays it (measured:
    // final p95 1.25 s with partials vs 0.68 s without).
    if (this.decoding || this.jobs.length > 0 || seg.trailingOff) return;
    this.lastPartialAt = length;
    this.jobs.push({ kind: 'partial', start, end: seg.received, pcm: seg.openAudio(), utterance: this.utterance, turn: this.turn });
    this.wakeJobs();
  }

  private async decodeLoop(): Promise<void> {
    for (;;) {
      const job = await this.nextJob();
      if (!job) return;
      this.decoding = job;
      try {
        if (job.kind === 'final') await this.decodeFinal(job);
        else if (job.kind === 'turn-done') this.finishTurn(job.turn);
        else if (job.kind === 'ahead') await this.decodeAhead(job);
        else await this.decodePartial(job);
      } finally {
        this.decoding = undefined;
        this.afterProgress();
      }
    }
  }

  private async nextJob(): Promise<DecodeJob | undefined> {
    for (;;) {
      const job = this.jobs.shift();
      if (job) {
        if (job.kind === 'final') this.jobSamples -= job.pcm.length;
        return job;
      }
      if (this.jobsClosed) return undefined;
      await new Promise<void>((resolve) => {
        this.jobWaiter = resolve;
      });
    }
  }

  private finishTurn(turn: number): void {
    const failure = this.turnFailures.get(turn);
    this.turnFailures.delete(turn);
    this.emit({ type: 'turn-done', turn, ...(failure ? { failure } : {}) });
  }

  private wakeJobs(): void {
    const w = this.jobWaiter;
    this.jobWaiter = undefined;
    w?.();
  }

  private async decodeFinal(job: Extract<DecodeJob, { kind: 'final' }>): Promise<void> {
    if (this.isAborted) {
      this.dropRange(job.start, job.end, this.abortReason());
      return;
    }
    const rate = this.sampleRate;
    let segments: Segment[];
    const ahead = this.ahead;
    try {
      segments = ahead?.segments && ahead.start === job.start && ahead.end === job.end ? ahead.segments : await this.decode(job);
    } catch (err) {
      if (this.isAborted) {
        this.dropRange(job.start, job.end, this.abortReason());
        return;
      }
      const code = isEchoPanelError(err) ? err.code : 'INFERENCE_FAILED';
      this.emit({ type: 'error', code, message: errorMessage(err), recovered: true });
      this.dropRange(job.start, job.end, code);
      this.failTurn(job.turn, code, errorMessage(err));
      return;
    }
    this.account({ type: 'transcribed', samples: job.end - job.start, start: job.start / rate, end: job.end / rate });
    if (!segments.some((s) => s.text.trim())) {
      this.textless++;
      this.logger.debug({ start: job.start / rate, end: job.end / rate }, 'the engine returned no text for an utterance');
    }
    for (const s of segments) this.emitFinal(s, job.turn);
    this.rememberContext(segments);
  }

  private async decodeAhead(job: Extract<DecodeJob, { kind: 'ahead' }>): Promise<void> {
    if (this.isAborted) return;
    let segments: Segment[];
    try {
      segments = await this.decode(job);
    } catch (err) {
      this.logger.debug({ err: errorMessage(err) }, 'decode-ahead failed');
      return;
    }
    if (this.ahead?.start === job.start && this.ahead.end === job.end) this.ahead.segments = segments;
    this.aheadAsPartial();
  }

  /**
   * Speech went on after a pause that was decoded ahead: what was decoded is the utterance so far, a partial,
   * whether the decode came back after the speaker resumed or (the usual case in real time) before.
   */
  private aheadAsPartial(): void {
    const a = this.ahead;
    const seg = this.segmenter;
    if (!a?.segments || a.toldAsPartial || !seg) return;
    if (a.utterance !== this.utterance || seg.openStart !== a.start || seg.tentativeEnd === a.end) return;
    a.toldAsPartial = true;
    this.emitPartial(a, a.segments);
  }

  /** Keeps the tail of the finals' text for the next utterance's prompt; a repetition loop is not kept. */
  private rememberContext(segments: readonly Segment[]): void {
    if (this.opts.contextPrompt === false) return;
    const text = segments.map((s) => s.text.trim()).filter(Boolean).join(' ');
    if (!text) return;
    if (this.context.endsWith(text) || looksRepetitive(text)) {
      this.context = '';
      return;
    }
    this.context = `${this.context} ${text}`.trim().slice(-CONTEXT_CHARS);
  }

  private async decodePartial(job: Extract<DecodeJob, { kind: 'partial' }>): Promise<void> {
    if (this.isAborted || job.utterance !== this.utterance) return;
    let segments: Segment[];
    try {
      segments = await this.decode(job);
    } catch (err) {
      // A failed partial costs nothing but the partial; the final decodes the same audio again.
      this.logger.debug({ err: errorMessage(err) }, 'partial decode failed');
      return;
    }
    if (job.utterance !== this.utterance) return;
    this.emitPartial(job, segments);
  }

  private emitPartial(job: { start: number; end: number; turn: number }, segments: readonly Segment[]): void {
    const rate = this.sampleRate;
    const text = segments.map((s) => s.text).join(' ').trim();
    if (!text) return;
    const agreed = this.agreement.update(text);
    this.partials++;
    this.emit({
      type: 'partial',
      text: agreed.text,
      stable: agreed.stable,
      start: round3(job.start / rate),
      end: round3(job.end / rate),
      turn: job.turn,
      ...(this.opts.source ? { source: this.opts.source } : {}),
    });
  }

  private async decode(job: AudioJob): Promise<Segment[]> {
    const rate = this.sampleRate;
    const pad = Math.round((this.opts.decodePadSeconds ?? 0.2) * rate);
    let pcm = job.pcm;
    if (pad > 0) {
      pcm = new Int16Array(job.pcm.length + 2 * pad);
      pcm.set(job.pcm, pad);
    }
    const started = performance.now();
    const prompt = [this.opts.prompt, this.context].filter(Boolean).join(' ') || undefined;
    let withdraw: AbortSignal | undefined;
    if (job.kind !== 'final') {
      this.withdrawOptional = new AbortController();
      withdraw = this.withdrawOptional.signal;
    }
    const options: ScheduledDecodeOptions = {
      sampleRate: rate,
      language: this.opts.language,
      source: this.opts.source,
      prompt,
      signal: this.abortController.signal,
      offsetSeconds: (job.start - pad) / rate,
      // The host's decode scheduler serves every stream's finals before anyone's partials.
      priority: job.kind,
      stream: this,
      ...(withdraw ? { withdraw } : {}),
      // A partial is replaced by its final: the engine may decode it faster and less carefully.
      ...(job.kind === 'partial' ? { draft: true } : {}),
      ...(this.opts.wordTimestamps ? { wordTimestamps: true } : {}),
    };
    const segments = await this.opts.provider.decode!(pcm, options);
    this.opts.onDecode?.(performance.now() - started, job.pcm.length / rate);
    // Times that fall into the padding belong to the utterance's edges.
    const lo = job.start / rate;
    const hi = job.end / rate;
    const clamp = (t: number) => round3(Math.min(hi, Math.max(lo, t)));
    return segments.map((seg) => ({
      ...seg,
      start: clamp(seg.start),
      end: clamp(seg.end),
      ...(seg.words ? { words: seg.words.map((w) => ({ ...w, start: clamp(w.start), end: clamp(w.end) })) } : {}),
    }));
  }

  /** Keeps the audio waiting for the engine within maxBacklogSeconds: the oldest goes first. */
  private enforceBacklog(): void {
    while (this.jobSamples + this.input.queuedSamples > this.maxBacklog) {
      const i = this.jobs.findIndex((j) => j.kind === 'final');
      if (i < 0) break;
      const job = this.jobs.splice(i, 1)[0] as Extract<DecodeJob, { kind: 'final' }>;
      this.jobSamples -= job.pcm.length;
      this.dropRange(job.start, job.end, 'backlog');
      this.failTurn(job.turn, 'AUDIO_DROPPED', `the engine fell behind the stream (backlog over ${this.maxBacklog / this.sampleRate} s): this audio was dropped untranscribed`);
    }
    for (const f of this.input.dropOldest(Math.max(0, this.maxBacklog - this.jobSamples))) {
      this.dropRange(f.start, f.start + f.pcm.length, 'backlog');
    }
  }

  private dropQueuedJobs(reason: string): void {
    const jobs = this.jobs;
    this.jobs = [];
    for (const job of jobs) {
      if (job.kind !== 'final') continue;
      this.jobSamples -= job.pcm.length;
      this.dropRange(job.start, job.end, reason);
    }
  }

  // ---- fixed mode ----------------------------------------------------------------------------------------

  private async runFixed(): Promise<void> {
    const rate = this.sampleRate;
    const block = Math.max(1, Math.round((this.opts.chunkSeconds ?? 2) * rate));
    const self = this;
    async function* frames(): AsyncGenerator<Int16Array> {
      let sinceDecision = 0;
      let droppingBlock = false;
      for (;;) {
        const frame = await self.input.take();
        if (!frame) return;
        if (self.isAborted) {
          self.dropRange(frame.start, frame.start + frame.pcm.length, self.abortReason());
          continue;
        }
        // The ladder decides per block of chunkSeconds, like the chunks the provider cuts.
        if (sinceDecision === 0) droppingBlock = !!self.opts.load?.shouldDropChunk?.(block);
        sinceDecision = (sinceDecision + frame.pcm.length) % block;
        if (droppingBlock) {
          self.dropRange(frame.start, frame.start + frame.pcm.length, 'degrade: dropping chunks');
          continue;
        }
        self.alignTimeline(frame.start);
        self.fedToProvider += frame.pcm.length;
        yield frame.pcm;
        self.afterProgress();
      }
    }
    let failed = false;
    try {
      for await (const segment of this.opts.provider.transcribe(frames(), {
        sampleRate: rate,
        language: this.opts.language,
        source: this.opts.source,
        prompt: this.opts.prompt,
        signal: this.abortController.signal,
        ...(this.opts.wordTimestamps ? { wordTimestamps: true } : {}),
        onEvent: (e) => this.onProviderEvent(e),
      })) {
        const mapped = this.toStreamTime(segment);
        if (mapped.isFinal) {
          // The provider cuts the stream itself: each final is a turn of its own.
          const turn = this.turn++;
          this.emit({ type: 'turn-end', turn, start: mapped.start, end: mapped.end });
          this.emitFinal(mapped, turn);
          this.emit({ type: 'turn-done', turn });
        } else {
          this.partials++;
          this.emit({ type: 'partial', text: mapped.text, stable: '', start: mapped.start, end: mapped.end, turn: this.turn, ...(this.opts.source ? { source: this.opts.source } : {}) });
        }
      }
    } catch (err) {
      failed = true;
      if (!this.isAborted) {
        this.emit({ type: 'error', code: isEchoPanelError(err) ? err.code : 'INFERENCE_FAILED', message: errorMessage(err), recovered: false });
      }
    } finally {
      // Whatever the provider got but did not report (a provider without accounting, or a crash) is settled here.
      const unaccounted = this.fedToProvider - this.providerAccounted;
      if (unaccounted > 0) {
        const end = this.received / rate;
        const reason = this.isAborted ? this.abortReason() : 'provider failed';
        this.account(
          this.isAborted || failed
            ? { type: 'dropped', samples: unaccounted, reason, start: end - unaccounted / rate, end }
            : { type: 'transcribed', samples: unaccounted, start: end - unaccounted / rate, end },
        );
        this.providerAccounted += unaccounted;
      }
      const reason = this.isAborted ? this.abortReason() : 'provider failed';
      this.input.close();
      for (const f of this.input.drain()) this.dropRange(f.start, f.start + f.pcm.length, reason);
    }
  }

  private onProviderEvent(e: TranscriptionEvent): void {
    if (e.type === 'transcribed' || e.type === 'skipped' || e.type === 'dropped') {
      this.providerAccounted += e.samples;
      if (e.type === 'dropped') this.dropReasons[e.reason] = (this.dropReasons[e.reason] ?? 0) + e.samples;
      this.account(e, false);
    } else if (e.type === 'error') {
      this.emit({ type: 'error', code: e.code, message: e.message, recovered: e.recovered });
    } else if (e.type === 'restart') {
      this.logger.warn({ reason: e.reason }, 'engine restarted during the stream');
    }
  }

  /** Records that provider sample `fedToProvider` is stream sample `streamStart` (they differ after drops). */
  private alignTimeline(streamStart: number): void {
    const shift = streamStart - this.fedToProvider;
    const last = this.timeShifts.length ? this.timeShifts[this.timeShifts.length - 1].shift : 0;
    if (shift !== last) this.timeShifts.push({ at: this.fedToProvider, shift });
  }

  private toStreamTime(s: Segment): Segment {
    if (this.timeShifts.length === 0) return s;
    const rate = this.sampleRate;
    const startSample = Math.round(s.start * rate);
    // Segments come in order: shifts before this one's start are settled and folded away.
    while (this.timeShifts.length > 1 && this.timeShifts[1].at <= startSample) this.timeShifts.shift();
    const shiftAt = (sample: number) => {
      let shift = 0;
      for (const t of this.timeShifts) if (t.at <= sample) shift = t.shift;
      return shift / rate;
    };
    const mapT = (t: number) => round3(t + shiftAt(Math.round(t * rate)));
    return {
      ...s,
      start: mapT(s.start),
      end: mapT(s.end),
      ...(s.words ? { words: s.words.map((w) => ({ ...w, start: mapT(w.start), end: mapT(w.end) })) } : {}),
    };
  }

  // ---- shared --------------------------------------------------------------------------------------------

  private emitFinal(segment: Segment, turn: number): void {
    if (!segment.text.trim()) return;
    this.finals++;
    this.emit({ type: 'final', turn, segment: { ...segment, isFinal: true, ...(this.opts.source && !segment.source ? { source: this.opts.source } : {}) } });
  }

  private dropRange(start: number, end: number, reason: string): void {
    if (end <= start) return;
    const rate = this.sampleRate;
    this.dropReasons[reason] = (this.dropReasons[reason] ?? 0) + (end - start);
    this.account({ type: 'dropped', samples: end - start, reason, start: start / rate, end: end / rate }, false);
    if (reason === 'backlog') this.setDropping(true);
  }

  private account(e: TranscriptionEvent, countReason = true): void {
    if (countReason && e.type === 'dropped') this.dropReasons[e.reason] = (this.dropReasons[e.reason] ?? 0) + e.samples;
    this.ownHandle.onEvent(e);
    this.sharedHandle?.onEvent(e);
  }

  private setDropping(on: boolean): void {
    if (this.dropping === on) return;
    this.dropping = on;
    if (on) this.logger.warn({ backlogSeconds: this.backlogSeconds }, 'engine behind: dropping audio');
    this.emit({ type: 'status', backlogSeconds: round3(this.backlogSeconds), dropping: on });
  }

  /** After audio moved: report the backlog; leave dropping mode once the backlog is down to half the limit. */
  private afterProgress(): void {
    const backlog = this.backlogSeconds;
    if (this.dropping && backlog * this.sampleRate <= this.maxBacklog / 2) this.setDropping(false);
    if (!this.opts.load?.reportBacklog) return;
    const b = round3(backlog);
    if (b === this.lastBacklogReported) return;
    this.lastBacklogReported = b;
    this.opts.load.reportBacklog(b);
  }

  private abortReason(): string {
    const r: unknown = this.abortController.signal.reason;
    return isEchoPanelError(r) ? r.message : 'aborted';
  }

  private emit(event: StreamEvent): void {
    try {
      this.opts.onEvent(event);
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'stream event listener threw');
    }
  }

  private finish(): StreamStats {
    this.ended = true;
    this.input.close();
    this.ownHandle.close();
    this.sharedHandle?.close();
    if (this.dropping) this.setDropping(false);
    const stats = this.stats();
    this.opts.load?.reportBacklog?.(0);
    this.emit({ type: 'done', stats });
    return stats;
  }
}

/** A decoder stuck in a loop repeats itself: few distinct words among many. */
function looksRepetitive(text: string): boolean {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  return words.length >= 8 && new Set(words).size / words.length < 0.4;
}
