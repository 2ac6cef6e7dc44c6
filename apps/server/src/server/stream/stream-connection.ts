import {
  PcmByteAligner,
  StreamResampler,
  StreamSession,
  errorMessage,
  type Logger,
  round3,
  type StreamEvent,
  type StreamStats,
} from '@echopanel/core';
import type { WebSocket } from 'ws';
import type { EngineHost } from '../engine-host.js';
import type { ServerMetrics } from '../metrics.js';
import { requestLanguage } from '../request-fields.js';
import { ProtocolError, defaultStart, parseClientMessage, type StartMessage } from './stream-messages.js';
import type { RegisteredStream, SessionRegistry } from './session-registry.js';

const TARGET_RATE = 16000;

/** What every stream connection shares. */
export interface StreamContext {
  readonly engine: EngineHost;
  readonly sessions: SessionRegistry;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly maxFrameBytes: number;
  readonly maxSessionSeconds: number;
  readonly resampleOtherRates: boolean;
  /** Live connections (for status broadcasts and shutdown). */
  readonly connections: Set<LiveConnection>;
}

/** A live WebSocket connection as the server sees it: told about status changes, finished at shutdown. */
export interface LiveConnection {
  sendStatus(): void;
  /** Finishes the connection's audio within `graceMs`, then closes it. */
  shutdown(graceMs: number): Promise<void>;
}

type State = 'waiting' | 'streaming' | 'stopping' | 'done';

/** WebSocket close codes used by the protocol. */
const CLOSE = { normal: 1000, goingAway: 1001, unsupported: 1003, policy: 1008, tryAgain: 1013 } as const;

/**
 * One `/v1/stream` WebSocket: the start/binary/stop protocol in, ready/partial/final/status/error/done out,
 * over a {@link StreamSession}. Misbehaving clients get an `error` message and, where the stream cannot go on, a
 * close with a fitting code; nothing a client sends can crash the server.
 */
export class StreamConnection implements LiveConnection {
  private state: State = 'waiting';
  private session?: StreamSession;
  private stream?: RegisteredStream;
  private start?: StartMessage;
  private aligner?: PcmByteAligner;
  /** One per stream: converts the client's rate to 16 kHz with the filter state carried across frames. */
  private resampler?: StreamResampler;
  private timer?: NodeJS.Timeout;
  private readonly logger: Logger;
  private finished?: Promise<StreamStats>;
  private warnedAfterStop = false;
  private resolveClosed!: () => void;
  /** Settles when the socket has closed and the stream is accounted. */
  readonly closed = new Promise<void>((r) => (this.resolveClosed = r));

  constructor(
    private readonly socket: WebSocket,
    private readonly ctx: StreamContext,
  ) {
    this.logger = ctx.logger.child({ component: 'stream' });
    ctx.connections.add(this);
    socket.on('message', (data, isBinary) => {
      try {
        this.onMessage(toBuffer(data), isBinary);
      } catch (err) {
        this.logger.error({ err: errorMessage(err) }, 'stream message handling failed');
        this.sendError('INTERNAL_ERROR', errorMessage(err));
      }
    });
    socket.on('close', () => void this.onClose());
    socket.on('error', (err) => this.logger.warn({ err: err.message }, 'websocket error'));
  }

  /** Session id once started. */
  get sessionId(): string | undefined {
    return this.stream?.session;
  }

  get isStreaming(): boolean {
    return this.state === 'streaming';
  }

  /** Sends a `status` message (degrade level or back-pressure changed). */
  sendStatus(extra: Record<string, unknown> = {}): void {
    if (this.state !== 'streaming' && this.state !== 'stopping') return;
    this.send({ type: 'status', degrade_level: this.ctx.engine.degradeLevel(), rtf: round3(this.ctx.engine.rtf()), ...extra });
  }

  /**
   * Server shutdown: finishes the stream as if the client had sent `stop` (finals, `done`), bounded by
   * `graceMs`, after which what is left is dropped (counted) and the stream ends anyway.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.state === 'waiting') {
      this.state = 'done';
      this.close(CLOSE.goingAway, 'server shutting down');
      return;
    }
    const deadline = Date.now() + graceMs;
    if (this.state === 'streaming') {
      // Audio the client sent just before the signal is still on its way: take it for a moment, then finish.
      const window = Math.min(1000, Math.floor(graceMs / 4));
      this.sendStatus({ shutting_down: true, accepting_audio_ms: window });
      await Promise.race([this.finished, new Promise((r) => setTimeout(r, window))]);
      this.stop();
    }
    if (this.finished) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.max(0, deadline - Date.now()))));
      const r = await Promise.race([this.finished, timedOut]);
      clearTimeout(timer);
      if (r === 'timeout') {
        this.sendError('SHUTTING_DOWN', `the server is shutting down; audio not transcribed within ${graceMs} ms was dropped`);
        await this.session?.abort('server shutting down');
      }
    }
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 1000))]);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.state === 'done') return;
    if (!isBinary) {
      let msg;
      try {
        msg = parseClientMessage(data.toString('utf8'));
      } catch (err) {
        if (err instanceof ProtocolError) return this.sendError(err.code, err.message);
        throw err;
      }
      if (msg.kind === 'start') {
        if (this.state !== 'waiting') return this.sendError('INVALID_STATE', '"start" must be the first message and may be sent once');
        this.begin(msg.start);
      } else {
        if (this.state === 'waiting') this.begin(defaultStart());
        if (this.state === 'streaming') this.stop();
      }
      return;
    }
    if (this.state === 'waiting') this.begin(defaultStart());
    if (this.state !== 'streaming') {
      if (this.state === 'stopping' && !this.warnedAfterStop) {
        this.warnedAfterStop = true;
        this.sendError('INVALID_STATE', 'audio after "stop" is ignored');
      }
      return;
    }
    if (data.byteLength > this.ctx.maxFrameBytes) {
      return this.sendError(
        'FRAME_TOO_LARGE',
        `a frame of ${data.byteLength} bytes exceeds server.limits.maxFrameBytes (${this.ctx.maxFrameBytes}); the frame was discarded, send smaller frames`,
      );
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.resampler!.push(this.start!.encoding === 'pcm_f32le' ? this.aligner!.pushFloat32(bytes) : this.aligner!.push(bytes));
  }

  /** 16 kHz audio out of the resampler (also its last samples, flushed after "stop"). */
  private deliver(pcm: Int16Array): void {
    if (pcm.length === 0 || !this.session || this.state === 'done') return;
    this.session.push(pcm);
    this.ctx.metrics.audioReceived(pcm.length / TARGET_RATE);
    if (this.session.stats().receivedSamples > this.ctx.maxSessionSeconds * TARGET_RATE) this.tooLong();
  }

  private begin(requested: StartMessage): void {
    const { engine } = this.ctx;
    let start: StartMessage;
    try {
      start = { ...requested, language: requestLanguage(requested.language, engine) };
    } catch (err) {
      return this.refuse((err as { code?: string }).code ?? 'INVALID_REQUEST', errorMessage(err), CLOSE.unsupported);
    }
    if (start.encoding !== 'pcm_s16le' && start.encoding !== 'pcm_f32le') {
      return this.refuse(
        'UNSUPPORTED_ENCODING',
        `encoding "${start.encoding}" is not supported; send "pcm_s16le" (mono signed 16-bit little-endian) or "pcm_f32le" (mono float32, as an AudioWorklet produces)`,
        CLOSE.unsupported,
      );
    }
    if (start.sample_rate !== TARGET_RATE && !this.ctx.resampleOtherRates) {
      return this.refuse(
        'UNSUPPORTED_SAMPLE_RATE',
        `sample_rate ${start.sample_rate} is not accepted by this server (server.resampleOtherRates is false); send 16000 Hz`,
        CLOSE.unsupported,
      );
    }
    // The stream keeps the model it starts on: a config reload that swaps it does not move this stream.
    const lease = engine.leaseProvider();
    if (!lease) {
      const r = engine.readiness();
      return this.refuse('NOT_READY', `the model is not ready (${r.model_state}${r.reason ? `: ${r.reason}` : ''}); retry when /health answers 200`, CLOSE.tryAgain);
    }
    const joined = this.ctx.sessions.join(start.source, start.session);
    if ('code' in joined) {
      lease.release();
      return this.refuse(joined.code, joined.message, CLOSE.tryAgain);
    }
    this.stream = joined;
    this.start = start;
    this.aligner = new PcmByteAligner(start.encoding === 'pcm_f32le' ? 4 : 2);
    this.resampler = new StreamResampler(start.sample_rate, TARGET_RATE, (pcm) => this.deliver(pcm));
    this.state = 'streaming';
    const asr = engine.asrConfig;
    this.session = new StreamSession({
      provider: lease.provider,
      detector: engine.createDetector(),
      segmentation: asr.segmentation,
      sampleRate: TARGET_RATE,
      language: start.language ?? asr.language,
      source: start.source,
      prompt: start.prompt,
      maxSegmentSeconds: asr.maxSegmentSeconds,
      partialIntervalSeconds: asr.partialIntervalSeconds,
      prefixPaddingSeconds: asr.prefixPaddingSeconds,
      endpointSilenceSeconds: asr.endpointSilenceSeconds,
      contextPrompt: asr.contextPrompt,
      chunkSeconds: asr.chunkSeconds,
      counter: engine.sessionCounter,
      load: engine.loadControl(),
      logger: this.logger.child({ session: joined.session, source: start.source }),
      onEvent: (e) => this.onStreamEvent(e),
      onDecode: (ms, seconds) => this.ctx.metrics.decodeObserved(ms, seconds),
    });
    this.finished = this.session.whenDone().finally(() => lease.release());
    this.ctx.metrics.streamOpened();
    this.timer = setTimeout(() => this.tooLong(), this.ctx.maxSessionSeconds * 1000);
    this.timer.unref();
    this.send({
      type: 'ready',
      session: joined.session,
      source: start.source,
      provider: engine.providerName,
      model: engine.modelName,
      sample_rate: start.sample_rate,
      segmentation: this.session.mode,
    });
    // A client joining a degraded server learns it at once, not at the next change.
    if (engine.degradeLevel() !== 'NORMAL') this.sendStatus();
    this.logger.info({ session: joined.session, source: start.source, mode: this.session.mode }, 'stream started');
  }

  private onStreamEvent(e: StreamEvent): void {
    const source = this.start?.source;
    switch (e.type) {
      case 'partial':
        this.send({ type: 'partial', text: e.text, stable: e.stable, start: e.start, end: e.end, source });
        break;
      case 'final': {
        const s = e.segment;
        this.send({
          type: 'final',
          text: s.text,
          start: s.start,
          end: s.end,
          confidence: s.confidence ?? null,
          language: s.language ?? this.start?.language ?? this.ctx.engine.asrConfig.language,
          source,
          ...(s.words ? { words: s.words } : {}),
        });
        break;
      }
      case 'status':
        this.sendStatus({ backlog_seconds: e.backlogSeconds, dropping: e.dropping });
        break;
      case 'error':
        this.sendError(e.code, e.message);
        break;
      case 'done':
        this.finishStream(e.stats);
        break;
      case 'speech-start':
      case 'turn-end':
      case 'turn-done':
      case 'cleared':
        // Turns are what the realtime API reports as items; this protocol's unit is the final.
        break;
    }
  }

  private finishStream(stats: StreamStats): void {
    clearTimeout(this.timer);
    this.state = 'done';
    if (this.stream) this.ctx.sessions.leave(this.stream);
    this.ctx.metrics.streamClosed();
    this.send({
      type: 'done',
      session: this.stream?.session,
      source: this.start?.source,
      stats: {
        received_samples: stats.receivedSamples,
        transcribed_samples: stats.transcribedSamples,
        silence_samples: stats.silenceSamples,
        dropped_samples: stats.droppedSamples,
        ...(stats.droppedSamples > 0 ? { drop_reasons: stats.dropReasons } : {}),
        finals: stats.finals,
        ...(stats.textlessUtterances > 0 ? { textless_utterances: stats.textlessUtterances } : {}),
      },
    });
    this.logger.info({ session: this.stream?.session, source: this.start?.source, stats }, 'stream done');
    this.close(CLOSE.normal, 'done');
  }

  private stop(): void {
    if (this.state !== 'streaming') return;
    this.state = 'stopping';
    const session = this.session!;
    // The resampler's last few ms come out when it is flushed, before the session ends.
    void this.resampler!.end()
      .catch((err: unknown) => this.sendError('INTERNAL_ERROR', errorMessage(err)))
      .then(() => session.end());
  }

  private tooLong(): void {
    if (this.state !== 'streaming') return;
    this.sendError('SESSION_TOO_LONG', `the stream reached server.limits.maxSessionSeconds (${this.ctx.maxSessionSeconds} s); it is being finished`);
    this.stop();
  }

  private async onClose(): Promise<void> {
    clearTimeout(this.timer);
    if (this.session && this.state !== 'done') {
      // The client left without "stop": nothing can be delivered, so nothing more is decoded.
      await this.session.abort('client disconnected');
    }
    this.state = 'done';
    this.ctx.connections.delete(this);
    this.resolveClosed();
  }

  private refuse(code: string, message: string, closeCode: number): void {
    this.sendError(code, message);
    this.state = 'done';
    this.close(closeCode, code);
  }

  private sendError(code: string, message: string): void {
    this.send({ type: 'error', code, message });
  }

  private send(msg: Record<string, unknown>): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify(msg));
  }

  private close(code: number, reason: string): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) this.socket.close(code, reason);
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
