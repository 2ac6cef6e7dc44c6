import WebSocket from 'ws';

export type ServerMessage = { type: string; [k: string]: unknown };

/** A real `ws` client on `/v1/stream` that records every server message. */
export class StreamClient {
  readonly messages: ServerMessage[] = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: { pred: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];

  /** `ca`: the certificate to trust for a `wss:` server; `protocols`: subprotocols to offer. */
  constructor(url: string, options: { headers?: Record<string, string>; ca?: Buffer; protocols?: string[] } = {}) {
    this.ws = new WebSocket(url.replace(/^http/, 'ws'), options.protocols ?? [], { headers: options.headers, ...(options.ca ? { ca: options.ca } : {}) });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (req, res) => {
        req.destroy();
        reject(new Error(`HTTP ${res.statusCode}`));
      });
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse((data as Buffer).toString()) as ServerMessage; // text frames arrive as one Buffer
      this.messages.push(m);
      for (const w of [...this.waiters]) {
        if (w.pred(m)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
  }

  send(msg: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(msg));
  }

  sendText(text: string): void {
    this.ws.send(text);
  }

  sendPcm(pcm: Int16Array | Buffer): void {
    this.ws.send(Buffer.isBuffer(pcm) ? pcm : Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  }

  /** Sends PCM in frames of `frameSamples`, yielding to the event loop every `everyFrames` frames. */
  async stream(pcm: Int16Array, frameSamples = 1600, delayMs = 0): Promise<void> {
    for (let i = 0; i < pcm.length; i += frameSamples) {
      this.sendPcm(pcm.subarray(i, Math.min(pcm.length, i + frameSamples)));
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    }
  }

  /** The first message (already received or coming) matching `pred`. */
  waitFor(pred: (m: ServerMessage) => boolean, timeoutMs = 120000): Promise<ServerMessage> {
    const found = this.messages.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting; got ${JSON.stringify(this.messages.map((m) => m.type))}`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  waitType(type: string, timeoutMs?: number): Promise<ServerMessage> {
    return this.waitFor((m) => m.type === type, timeoutMs);
  }

  ofType(type: string): ServerMessage[] {
    return this.messages.filter((m) => m.type === type);
  }

  finalText(): string {
    return this.ofType('final')
      .map((m) => m.text as string)
      .join(' ');
  }
}
