// Test fixture: a real HTTP server on 127.0.0.1 serving in-memory files with Range support and scripted faults.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { readonly kind: 'none' }
  /** The first `times` full (non-Range) requests send only `bytes` bytes and then drop the connection. */
  | { readonly kind: 'cut'; readonly bytes: number; times: number }
  /** Byte `at` is served flipped. */
  | { readonly kind: 'corrupt'; readonly at: number }
  /** Sends `bytes` bytes, then nothing (connection held open). */
  | { readonly kind: 'stall'; readonly bytes: number }
  /** Never answers. */
  | { readonly kind: 'no-response' };

export interface ServedFile {
  readonly data: Buffer;
  fault?: Fault;
  /** Pause between 64 KiB chunks (spreads a transfer over time). */
  readonly chunkDelayMs?: number;
}

export interface RequestLog {
  readonly path: string;
  readonly range?: string;
  readonly status: number;
}

export interface FileServer {
  readonly url: string;
  readonly requests: RequestLog[];
  close(): Promise<void>;
}

export async function startFileServer(files: Record<string, ServedFile>): Promise<FileServer> {
  const requests: RequestLog[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const file = files[req.url ?? ''];
    const range = req.headers.range;
    if (!file) {
      requests.push({ path: req.url ?? '', range, status: 404 });
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const fault = file.fault ?? { kind: 'none' };
    if (fault.kind === 'no-response') {
      requests.push({ path: req.url!, range, status: 0 });
      return;
    }
    let body = file.data;
    if (fault.kind === 'corrupt') {
      body = Buffer.from(body);
      body[fault.at] ^= 0xff;
    }
    let start = 0;
    let status = 200;
    const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
    if (m) {
      start = Number(m[1]);
      if (start >= body.length) {
        requests.push({ path: req.url!, range, status: 416 });
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
    }
    requests.push({ path: req.url!, range, status });
    const part = body.subarray(start);
    res.writeHead(status, {
      'content-length': String(part.length),
      'accept-ranges': 'bytes',
      ...(status === 206 ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    let limit = part.length;
    let after: 'end' | 'destroy' | 'hold' = 'end';
    if (fault.kind === 'cut' && status === 200 && fault.times > 0) {
      fault.times--;
      limit = fault.bytes;
      after = 'destroy';
    } else if (fault.kind === 'stall') {
      limit = Math.min(fault.bytes, part.length);
      after = 'hold';
    }
    void (async () => {
      for (let o = 0; o < limit; o += 65536) {
        const chunk = part.subarray(o, Math.min(limit, o + 65536));
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
        if (file.chunkDelayMs) await new Promise((r) => setTimeout(r, file.chunkDelayMs));
        if (res.destroyed) return;
      }
      if (after === 'end') res.end();
      else if (after === 'destroy') res.socket?.destroy();
    })();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
