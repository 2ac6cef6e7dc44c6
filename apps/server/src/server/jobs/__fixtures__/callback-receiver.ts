import { createServer, type Server } from 'node:http';

export interface ReceivedCallback {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A loopback HTTP server recording the POSTs it gets; answers `failFirst` of them with 500 (to exercise retries). */
export async function callbackReceiver(failFirst = 0): Promise<{ url: string; received: ReceivedCallback[]; attempts: () => number; close(): Promise<void> }> {
  const received: ReceivedCallback[] = [];
  let attempts = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      attempts++;
      if (attempts <= failFirst) return void res.writeHead(500).end();
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    attempts: () => attempts,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
