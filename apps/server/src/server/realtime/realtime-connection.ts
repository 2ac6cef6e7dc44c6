import { randomBytes } from 'node:crypto';
import { StreamSession, errorMessage, wordKey, type Logger, type StreamEvent } from '@echopanel/core';
import type { WebSocket } from 'ws';
import { requestLanguage } from '../request-fields.js';
import type { RegisteredStream } from '../stream/session-registry.js';
import type { LiveConnection, StreamContext } from '../stream/stream-connection.js';
import { RealtimeAudioInput } from './realtime-audio-input.js';
import { RealtimeRequestError, parseClientEvent, type RealtimeClientEvent, type RealtimeErrorBody } from './realtime-events.js';
import {
  DEFAULT_SESSION_CONFIG,
  applyBetaSession,
  applyGaSession,
  betaSessionObject,
  gaSessionObject,
  type RealtimeSessionConfig,
} from './realtime-session-config.js';

const TARGET_RATE = 16000;
/** OpenAI refuses a commit of less than this. */
const MIN_COMMIT_MS = 100;
/** OpenAI's model names; each transcribes with this server's active provider. */
const OPENAI_MODELS = /^(whisper-1|gpt-.*transcribe.*|gpt-realtime-whisper)$/;
const CLOSE = { normal: 1000, goingAway: 1001, policy: 1008, tryAgain: 1013 } as const;

/** The event names of one API shape: GA (`session.*`) or beta (`transcription_session.*`). */
type Shape = 'ga' | 'beta';

/** One item: a turn of the stream as the client sees it. */
interface Item {
  readonly id: string;
  /** Words of the stable partial text already sent as deltas, and the utterance they came from. */
  sentWords: number;
  utteranceStart?: number;
  sentText: string;
  readonly finals: string[];
  seconds: number;
}

/** One StreamSession of the connection; a change of its settings starts the next one. */
interface Pipeline {
  readonly session: StreamSession;
  readonly input: RealtimeAudioInput;
  readonly key: string;
  /** Audio (ms) the connection had received before this pipeline started: its times are offset by it. */
  readonly baseMs: number;
  readonly items: Map<number, Item>;
  /** Speech is open (speech_started sent, not yet committed). */
  speaking: boolean;
  /** An idle timeout committed the buffer: the next turn end is announced as `timeout_triggered`. */
  idleCommit: boolean;
}

/**
 * One `/v1/realtime?intent=transcription` WebSocket: OpenAI's Realtime transcription protocol (GA and beta
 * event shapes) over the same {@link StreamSession} as `/v1/stream` — VAD turns, partials as appending
 * `delta`s, finals as `completed`, the same limits, accounting and degrade behaviour. A client mistake gets an
 * `error` event and the connection goes on.
 */
export class RealtimeConnection implements LiveConnection {
  private config: RealtimeSessionConfig = DEFAULT_SESSION_CONFIG;
  private shape: Shape;
  private readonly id = `sess_${randomId()}`;
  private readonly logger: Logger;
  private stream?: RegisteredStream;
  private pipeline?: Pipeline;
  /** Every operation on the audio path, in order: appends, commits, clears, setting changes. */
  private chain: Promise<void> = Promise.resolve();
  private lastItemId: string | null = null;
  /** Audio received (ms) by earlier pipelines; the one before the last commit, clear or turn end. */
  private retiredMs = 0;
  private committedMs = 0;
  private state: 'open' | 'finishing' | 'done' = 'open';
  private timer?: NodeJS.Timeout;
  private receivedSamples = 0;
  /** Sessions not yet done (the current one and retired ones still decoding). */
  private readonly live = new Set<StreamSession>();
  private resolveClosed!: () => void;
  /** Settles when the socket has closed and the stream is accounted. */
  readonly closed = new Promise<void>((r) => (this.resolveClosed = r));

  constructor(
    private readonly socket: WebSocket,
    private readonly ctx: StreamContext,
    options: { beta: boolean },
  ) {
    this.shape = options.beta ? 'beta' : 'ga';
    this.logger = ctx.logger.child({ component: 'realtime' });
    socket.on('message', (data, isBinary) => {
      try {
        this.onMessage(data, isBinary);
      } catch (err) {
        this.logger.error({ err: errorMessage(err) }, 'realtime event handling failed');
        this.sendError(serverError('INTERNAL_ERROR', errorMessage(err)));
      }
    });
    socket.on('close', () => void this.onClose());
    socket.on('error', (err) => this.logger.warn({ err: err.message }, 'websocket error'));
    this.open();
  }

  /** Degrade changes have no event in this protocol; the stream's own behaviour (drops) shows them. */
  sendStatus(): void {}

  /** Server shutdown: what was appended is transcribed and sent within `graceMs`, then the socket closes. */
  async shutdown(graceMs: number): Promise<void> {
    if (this.state === 'open') this.finish('server shutting down', CLOSE.goingAway);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
    const r = await Promise.race([this.drained(), timedOut]);
    clearTimeout(timer);
    if (r === 'timeout') {
      this.sendError(serverError('SHUTTING_DOWN', `the server is shutting down; audio not transcribed within ${graceMs} ms was dropped`));
      await Promise.all([...this.live].map((s) => s.abort('server shutting down')));
    }
    this.close(CLOSE.goingAway, 'server shutting down');
    await Promise.race([this.closed, new Promise((res) => setTimeout(res, 1000))]);
  }

  private open(): void {
    const { engine } = this.ctx;
    try {
      engine.requireProvider();
    } catch (err) {
      return this.refuse(codeOf(err), errorMessage(err), CLOSE.tryAgain);
    }
    const joined = this.ctx.sessions.join('realtime', this.id);
    if ('code' in joined) return this.refuse(joined.code, joined.message, CLOSE.tryAgain);
    this.stream = joined;
    this.ctx.connections.add(this);
    this.ctx.metrics.streamOpened();
    this.timer = setTimeout(() => this.tooLong(), this.ctx.maxSessionSeconds * 1000);
    this.timer.unref();
    this.sendSession('created');
    this.logger.info({ session: this.id, provider: engine.providerName }, 'realtime transcription session opened');
  }

  private onMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.state === 'done') return;
    if (isBinary) {
      return this.sendError(new RealtimeRequestError('invalid_event', 'binary frames are not part of this protocol: send JSON events, audio base64-encoded in input_audio_buffer.append').body());
    }
    let event: RealtimeClientEvent;
    try {
      event = parseClientEvent(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString('utf8'));
    } catch (err) {
      if (err instanceof RealtimeRequestError) return this.sendError(err.body());
      throw err;
    }
    if (this.state !== 'open') {
      return this.sendError(new RealtimeRequestError('session_finishing', 'the session is finishing (server shutdown or session length limit); no more events are taken', null, event.event_id ?? null).body());
    }
    switch (event.type) {
      case 'session.update':
      case 'transcription_session.update':
        return this.update(event);
      case 'input_audio_buffer.append':
        return this.append(event.audio);
      case 'input_audio_buffer.commit':
        return this.commit(event.event_id ?? null);
      case 'input_audio_buffer.clear':
        return this.clear();
    }
  }

  private update(event: Extract<RealtimeClientEvent, { type: 'session.update' | 'transcription_session.update' }>): void {
    const eventId = event.event_id ?? null;
    const next = event.type === 'session.update' ? applyGaSession(this.config, event.session) : applyBetaSession(this.config, event.session);
    if (event.type === 'transcription_session.update') this.shape = 'beta';
    try {
      this.checkModel(next.transcription.model);
      requestLanguage(next.transcription.language, this.ctx.engine);
    } catch (err) {
      if (err instanceof RealtimeRequestError) return this.sendError({ ...err.body(), event_id: eventId });
      return this.sendError({ type: 'invalid_request_error', code: codeOf(err), message: errorMessage(err), param: 'session.audio.input.transcription.language', event_id: eventId });
    }
    if (next.format.type === 'audio/pcm' && next.format.rate !== 24000 && next.format.rate !== TARGET_RATE && !this.ctx.resampleOtherRates) {
      return this.sendError({
        type: 'invalid_request_error',
        code: 'UNSUPPORTED_SAMPLE_RATE',
        message: `rate ${next.format.rate} is not accepted by this server (server.resampleOtherRates is false); send 24000 Hz`,
        param: 'session.audio.input.format.rate',
        event_id: eventId,
      });
    }
    if (next.turnDetection === null && this.ctx.engine.createDetector() === undefined) {
      return this.sendError({
        type: 'invalid_request_error',
        code: 'NOT_SUPPORTED',
        message: `turn_detection null (client commits) needs VAD segmentation, which is off here (${this.ctx.engine.vadStatus().reason ?? 'vad disabled'})`,
        param: 'session.audio.input.turn_detection',
        event_id: eventId,
      });
    }
    this.config = next;
    // Settings the stream was built with take effect from the next audio on: the current one finishes first.
    this.enqueue(async () => {
      if (this.pipeline && this.pipeline.key !== pipelineKey(next)) await this.retire();
    });
    this.sendSession('updated');
  }

  private checkModel(model: string): void {
    const { engine } = this.ctx;
    if (OPENAI_MODELS.test(model) || model === engine.providerName || model === engine.modelName) return;
    throw new RealtimeRequestError(
      'model_not_found',
      `model "${model.slice(0, 100)}" is not served here: this server transcribes with ${engine.providerName} (${engine.modelName}); use whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe or "${engine.providerName}"`,
      'session.audio.input.transcription.model',
    );
  }

  private append(audio: Uint8Array): void {
    if (audio.byteLength === 0) return;
    this.enqueue(async () => {
      const p = this.pipeline ?? this.startPipeline();
      if (!p) return;
      p.input.push(audio);
      await this.checkIdle(p);
    });
  }

  private commit(eventId: string | null): void {
    this.enqueue(async () => {
      const p = this.pipeline;
      const buffered = this.receivedMs() - this.committedMs;
      if (!p || buffered < MIN_COMMIT_MS) {
        return this.sendError({
          type: 'invalid_request_error',
          code: 'input_audio_buffer_commit_empty',
          message: `Error committing input audio buffer: buffer too small. Expected at least ${MIN_COMMIT_MS}ms of audio, but buffer only has ${Math.max(0, buffered).toFixed(2)}ms of audio.`,
          param: null,
          event_id: eventId,
        });
      }
      await p.input.flush();
      this.committedMs = this.receivedMs();
      p.session.commit();
    });
  }

  /**
   * `idle_timeout_ms`: that much audio without speech since the last commit commits the (silent) buffer, as
   * OpenAI does, announced by `input_audio_buffer.timeout_triggered`. Measured in audio time, not wall time.
   */
  private async checkIdle(p: Pipeline): Promise<void> {
    const idle = this.config.turnDetection?.idle_timeout_ms;
    if (!idle || p.speaking || p.idleCommit || p.session.mode !== 'vad') return;
    if (this.receivedMs() - this.committedMs < idle) return;
    p.idleCommit = true;
    await p.input.flush();
    this.committedMs = this.receivedMs();
    p.session.commit();
  }

  private clear(): void {
    this.enqueue(async () => {
      const p = this.pipeline;
      this.committedMs = this.receivedMs();
      if (!p) return this.send({ type: 'input_audio_buffer.cleared' });
      await p.input.flush();
      p.session.clear();
    });
  }

  private startPipeline(): Pipeline | undefined {
    const { engine } = this.ctx;
    // The session keeps the model it starts on: a config reload that swaps it does not move this session.
    let lease;
    try {
      lease = engine.requireLease();
    } catch (err) {
      this.sendError(serverError(codeOf(err), `${errorMessage(err)}; this audio was dropped`));
      return undefined;
    }
    const c = this.config;
    const td = c.turnDetection;
    const asr = engine.asrConfig;
    // The callbacks run only after construction (the session and the resampler deliver asynchronously).
    const pipeline: Pipeline = {
      session: new StreamSession({
        provider: lease.provider,
        detector: engine.createDetector(td ? { threshold: td.threshold } : {}),
        segmentation: asr.segmentation,
        sampleRate: TARGET_RATE,
        language: c.transcription.language ?? asr.language,
        source: 'realtime',
        prompt: c.transcription.prompt,
        maxSegmentSeconds: asr.maxSegmentSeconds,
        partialIntervalSeconds: asr.partialIntervalSeconds,
        prefixPaddingSeconds: td ? td.prefix_padding_ms / 1000 : asr.prefixPaddingSeconds,
        endpointSilenceSeconds: td ? td.silence_duration_ms / 1000 : asr.endpointSilenceSeconds,
        turnDetection: td ? 'vad' : 'client',
        contextPrompt: asr.contextPrompt,
        chunkSeconds: asr.chunkSeconds,
        counter: engine.sessionCounter,
        load: engine.loadControl(),
        logger: this.logger.child({ session: this.id }),
        onEvent: (e) => this.onStreamEvent(pipeline, e),
        onDecode: (ms, seconds) => this.ctx.metrics.decodeObserved(ms, seconds),
      }),
      input: new RealtimeAudioInput(c.format, TARGET_RATE, (pcm) => this.deliver(pipeline.session, pcm)),
      key: pipelineKey(c),
      baseMs: this.retiredMs,
      items: new Map<number, Item>(),
      speaking: false,
      idleCommit: false,
    };
    const { session } = pipeline;
    this.pipeline = pipeline;
    this.live.add(session);
    void session.whenDone().finally(() => {
      this.live.delete(session);
      lease.release();
    });
    return pipeline;
  }

  /** Ends the current pipeline (its audio is transcribed and reported); the next append starts a new one. */
  private async retire(): Promise<void> {
    const p = this.pipeline;
    if (!p) return;
    this.pipeline = undefined;
    await p.input.flush();
    this.retiredMs = this.receivedMs(p);
    this.committedMs = Math.max(this.committedMs, this.retiredMs);
    void p.session.end();
  }

  private deliver(session: StreamSession, pcm: Int16Array): void {
    if (pcm.length === 0 || session.isAborted || this.state === 'done') return;
    session.push(pcm);
    this.receivedSamples += pcm.length;
    this.ctx.metrics.audioReceived(pcm.length / TARGET_RATE);
    if (this.receivedSamples > this.ctx.maxSessionSeconds * TARGET_RATE) this.tooLong();
  }

  /** Audio received so far (ms), on the connection's timeline. */
  private receivedMs(p = this.pipeline): number {
    return p ? p.baseMs + p.input.appendedMs : this.retiredMs;
  }

  private onStreamEvent(p: Pipeline, e: StreamEvent): void {
    const ms = (seconds: number) => Math.round(p.baseMs + seconds * 1000);
    switch (e.type) {
      case 'speech-start': {
        if (!this.config.turnDetection) return;
        const item = this.item(p, e.turn);
        p.speaking = true;
        this.send({ type: 'input_audio_buffer.speech_started', audio_start_ms: ms(e.start), item_id: item.id });
        return;
      }
      case 'turn-end': {
        const item = this.item(p, e.turn);
        item.seconds = e.end - e.start;
        this.committedMs = Math.max(this.committedMs, ms(e.end));
        if (p.idleCommit && !p.speaking) {
          this.send({ type: 'input_audio_buffer.timeout_triggered', audio_start_ms: ms(e.start), audio_end_ms: ms(e.end), item_id: item.id });
        } else if (p.speaking) {
          this.send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: ms(e.end), item_id: item.id });
        }
        p.idleCommit = false;
        p.speaking = false;
        const previous = this.lastItemId;
        this.lastItemId = item.id;
        this.send({ type: 'input_audio_buffer.committed', previous_item_id: previous, item_id: item.id });
        const itemObject = { id: item.id, object: 'realtime.item', type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_audio', transcript: null }] };
        this.send({ type: 'conversation.item.created', previous_item_id: previous, item: itemObject });
        if (this.shape === 'ga') {
          this.send({ type: 'conversation.item.added', previous_item_id: previous, item: itemObject });
          this.send({ type: 'conversation.item.done', previous_item_id: previous, item: itemObject });
        }
        return;
      }
      case 'partial':
        return this.sendDelta(this.item(p, e.turn), e.stable, e.start);
      case 'final':
        this.item(p, e.turn).finals.push(e.segment.text.trim());
        return;
      case 'turn-done': {
        const item = p.items.get(e.turn);
        if (!item) return;
        p.items.delete(e.turn);
        const transcript = item.finals.filter(Boolean).join(' ');
        if (e.failure && !transcript) {
          this.send({
            type: 'conversation.item.input_audio_transcription.failed',
            item_id: item.id,
            content_index: 0,
            error: { type: 'transcription_error', code: e.failure.code, message: e.failure.message, param: null },
          });
          return;
        }
        // The deltas end as the final text when they were its beginning (deltas only append).
        const sent = wordsOf(item.sentText);
        const words = wordsOf(transcript);
        if (words.length > sent.length && sent.every((w, i) => sameWord(w, words[i]))) {
          this.send(deltaEvent(item.id, (sent.length ? ' ' : '') + words.slice(sent.length).join(' ')));
        }
        this.send({
          type: 'conversation.item.input_audio_transcription.completed',
          item_id: item.id,
          content_index: 0,
          transcript,
          usage: { type: 'duration', seconds: Math.round(item.seconds * 1000) / 1000 },
          ...(this.config.include.includes('item.input_audio_transcription.logprobs') ? { logprobs: null } : {}),
        });
        return;
      }
      case 'cleared':
        p.items.delete(e.turn);
        p.speaking = false;
        this.committedMs = Math.max(this.committedMs, this.receivedMs());
        this.send({ type: 'input_audio_buffer.cleared' });
        return;
      case 'error':
        this.sendError(serverError(e.code, e.message));
        return;
      case 'status':
        return;
      case 'done':
        // A stream that ended by itself (an engine failure) is replaced at the next append.
        if (this.pipeline === p) {
          this.retiredMs = this.receivedMs(p);
          this.pipeline = undefined;
        }
        this.logger.info({ session: this.id, stats: e.stats }, 'realtime stream done');
        return;
    }
  }

  private item(p: Pipeline, turn: number): Item {
    let item = p.items.get(turn);
    if (!item) {
      item = { id: `item_${randomId()}`, sentWords: 0, sentText: '', finals: [], seconds: 0 };
      p.items.set(turn, item);
    }
    return item;
  }

  /** Sends the words of `stable` not yet sent: deltas only ever append. */
  private sendDelta(item: Item, stable: string, utteranceStart: number): void {
    if (item.utteranceStart !== utteranceStart) {
      item.utteranceStart = utteranceStart;
      item.sentWords = 0;
    }
    const words = wordsOf(stable);
    if (words.length <= item.sentWords) return;
    const delta = (item.sentText ? ' ' : '') + words.slice(item.sentWords).join(' ');
    item.sentWords = words.length;
    item.sentText += delta;
    this.send(deltaEvent(item.id, delta));
  }

  private tooLong(): void {
    if (this.state !== 'open') return;
    this.sendError(serverError('SESSION_TOO_LONG', `the session reached server.limits.maxSessionSeconds (${this.ctx.maxSessionSeconds} s); it is being finished`));
    this.finish('session too long', CLOSE.normal);
  }

  /** No more events are taken: the audio so far is transcribed and reported, then the socket closes. */
  private finish(reason: string, closeCode: number): void {
    this.state = 'finishing';
    this.logger.info({ session: this.id, reason }, 'realtime session finishing');
    this.enqueue(() => this.retire());
    void this.drained().then(() => this.close(closeCode, reason));
  }

  /** Settles when every queued operation ran and every pipeline reported `done`. */
  private async drained(): Promise<void> {
    await this.chain;
    await Promise.all([...this.live].map((s) => s.whenDone()));
  }

  private enqueue(op: () => Promise<void>): void {
    this.chain = this.chain.then(op).catch((err: unknown) => {
      this.logger.error({ err: errorMessage(err) }, 'realtime audio path failed');
      this.sendError(serverError(codeOf(err), errorMessage(err)));
    });
  }

  private async onClose(): Promise<void> {
    clearTimeout(this.timer);
    const wasOpen = this.state !== 'done';
    this.state = 'done';
    // The client left: nothing can be delivered, so nothing more is decoded.
    this.pipeline = undefined;
    await Promise.all([...this.live].map((s) => s.abort('client disconnected')));
    if (this.stream) {
      this.ctx.sessions.leave(this.stream);
      if (wasOpen) this.ctx.metrics.streamClosed();
      this.stream = undefined;
    }
    this.ctx.connections.delete(this);
    this.resolveClosed();
  }

  private sendSession(what: 'created' | 'updated'): void {
    if (this.shape === 'beta') this.send({ type: `transcription_session.${what}`, session: betaSessionObject(this.id, this.config) });
    else this.send({ type: `session.${what}`, session: gaSessionObject(this.id, this.config) });
  }

  private refuse(code: string, message: string, closeCode: number): void {
    this.sendError(serverError(code, message));
    this.state = 'done';
    this.close(closeCode, code);
  }

  private sendError(error: RealtimeErrorBody): void {
    this.send({ type: 'error', error });
  }

  private send(event: Record<string, unknown>): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify({ event_id: `event_${randomId()}`, ...event }));
  }

  private close(code: number, reason: string): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) this.socket.close(code, reason);
  }
}

/** The settings a StreamSession is built with: when they change, the next audio goes to a new one. */
function pipelineKey(c: RealtimeSessionConfig): string {
  return JSON.stringify([c.format, c.transcription.language, c.transcription.prompt, c.turnDetection && { ...c.turnDetection, type: 'vad' }]);
}

function deltaEvent(itemId: string, delta: string): Record<string, unknown> {
  return { type: 'conversation.item.input_audio_transcription.delta', item_id: itemId, content_index: 0, delta };
}

/** An error of the server's side (engine, limits, shutdown), not of a client event. */
function serverError(code: string, message: string): RealtimeErrorBody {
  return { type: 'server_error', code, message, param: null, event_id: null };
}

function codeOf(err: unknown): string {
  return (err as { code?: unknown }).code && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'INTERNAL_ERROR';
}

function wordsOf(text: string): string[] {
  return text.trim().split(/\s+/).filter(Boolean);
}

function sameWord(a: string, b: string | undefined): boolean {
  return b !== undefined && wordKey(a) === wordKey(b);
}

function randomId(): string {
  return randomBytes(12).toString('base64url');
}
