import { apiKey } from './api-key.js';
import type { ServerMessage } from './protocol.js';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'stopping' | 'stopped';

export interface SourceStreamOptions {
  /** `mic`, `system`: the `source` of the start message. */
  readonly source: string;
  /** The panel's session id, shared by its sources. */
  readonly session: string;
  readonly sampleRate: number;
  /** A message from the server; `offset` is the panel time (s) of this stream's first sample. */
  onMessage(msg: ServerMessage, offset: number): void;
  onState(state: StreamState, detail: string): void;
  /** Seconds of captured audio that could not be kept for the server (the buffer while disconnected overflowed). */
  onDropped(seconds: number): void;
}

/** Audio kept while disconnected, sent when the next stream is ready (beyond it, audio is dropped and counted). */
const MAX_BUFFERED_SECONDS = 30;
/** Reconnect delays: doubling from 0.5 s to 8 s, with jitter so many tabs do not retry in step. */
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
const CLOSE_UNSUPPORTED = 1003;
const CLOSE_POLICY = 1008;

/**
 * One source's audio on `/v1/stream`, as `pcm_f32le` at the capture rate. A stream that ends without the user
 * asking (network drop, server restart) is replaced by a new one after a back-off, and the audio captured in
 * between is buffered and sent to it: the transcript goes on where it was.
 */
export class SourceStream {
  private socket?: WebSocket;
  private state: StreamState = 'connecting';
  private attempt = 0;
  private retryTimer?: number;
  private readonly pending: { pcm: Float32Array; time: number }[] = [];
  private pendingSamples = 0;
  private offset?: number;
  private finished?: () => void;

  constructor(private readonly opts: SourceStreamOptions) {}

  /** Opens the first stream. */
  start(): void {
    this.connect();
  }

  /** A captured frame and its panel time (s). */
  send(pcm: Float32Array, time: number): void {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    if (this.state === 'live' && this.socket?.readyState === WebSocket.OPEN) {
      this.offset ??= time;
      this.socket.send(pcm);
      return;
    }
    this.pending.push({ pcm, time });
    this.pendingSamples += pcm.length;
    while (this.pendingSamples > MAX_BUFFERED_SECONDS * this.opts.sampleRate) {
      const old = this.pending.shift()!;
      this.pendingSamples -= old.pcm.length;
      this.opts.onDropped(old.pcm.length / this.opts.sampleRate);
    }
  }

  /** Ends the stream: the server transcribes what it has and answers `done` (or the socket closes). */
  stop(): Promise<void> {
    clearTimeout(this.retryTimer);
    const open = this.state === 'live' && this.socket?.readyState === WebSocket.OPEN;
    if (this.pending.length > 0) {
      const seconds = this.pendingSamples / this.opts.sampleRate;
      this.pending.length = 0;
      this.pendingSamples = 0;
      this.opts.onDropped(seconds);
    }
    if (!open) {
      this.socket?.close();
      this.setState('stopped', 'stopped');
      return Promise.resolve();
    }
    this.setState('stopping', 'finishing the transcript');
    this.socket!.send(JSON.stringify({ type: 'stop' }));
    return new Promise((resolve) => (this.finished = resolve));
  }

  private connect(): void {
    const url = new URL('v1/stream', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const key = apiKey();
    if (key) url.searchParams.set('api_key', key);
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting', 'connecting');
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    this.offset = undefined;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'start', encoding: 'pcm_f32le', sample_rate: this.opts.sampleRate, source: this.opts.source, session: this.opts.session }));
    };
    socket.onmessage = (e: MessageEvent) => {
      if (typeof e.data !== 'string') return;
      const msg = JSON.parse(e.data) as ServerMessage;
      if (msg.type === 'ready') {
        this.attempt = 0;
        this.setState('live', 'streaming');
        this.flush();
      } else if (msg.type === 'status' && msg.shutting_down) {
        // The server finishes what it has and then ignores audio: keep the rest for the next server.
        this.setState('reconnecting', 'the server is shutting down');
      }
      this.opts.onMessage(msg, this.offset ?? 0);
    };
    socket.onclose = (e: CloseEvent) => {
      if (this.socket !== socket) return;
      if (this.state === 'stopping' || this.state === 'stopped') {
        this.setState('stopped', 'stopped');
        this.finished?.();
        return;
      }
      if (e.code === CLOSE_UNSUPPORTED || e.code === CLOSE_POLICY) {
        // The server refused what this stream asked for (its `error` message said what): retrying cannot help.
        this.setState('stopped', `refused: ${e.reason || e.code}`);
        return;
      }
      this.scheduleReconnect(e.reason || (e.code === 1006 ? 'connection lost' : `closed (${e.code})`));
    };
  }

  private flush(): void {
    for (const { pcm, time } of this.pending.splice(0)) {
      this.offset ??= time;
      this.socket!.send(pcm);
    }
    this.pendingSamples = 0;
  }

  private scheduleReconnect(why: string): void {
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt++;
    this.setState('reconnecting', `${why}; reconnecting in ${(delay / 1000).toFixed(1)} s (attempt ${this.attempt})`);
    this.retryTimer = window.setTimeout(() => this.connect(), delay);
  }

  private setState(state: StreamState, detail: string): void {
    this.state = state;
    this.opts.onState(state, detail);
  }
}
