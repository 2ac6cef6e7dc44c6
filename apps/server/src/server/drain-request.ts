import type { IncomingMessage } from 'node:http';

/** Most of a request body an error answer waits to read; past it the connection is closed instead. */
const DRAIN_BYTES = 16 * 1024 * 1024;
const DRAIN_MS = 10_000;

/**
 * Reads and discards what is left of a request body that is refused before it was read, so a client still
 * writing gets the answer rather than EPIPE. Bounded: a body declared larger than 16 MiB, or still coming
 * after 10 s, is not waited for (the connection then closes after the answer).
 */
export async function drainRequest(req: IncomingMessage): Promise<void> {
  if (req.complete || req.destroyed || req.readableEnded || req.headers.upgrade) return;
  const declared = Number(req.headers['content-length'] ?? 0);
  // No body (a GET, an upgrade) or one too large to wait for.
  if (req.headers['transfer-encoding'] === undefined && !(declared > 0)) return;
  if (declared > DRAIN_BYTES) return;
  await new Promise<void>((resolve) => {
    let read = 0;
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData).off('end', done).off('error', done).off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (read > DRAIN_BYTES) done();
    };
    const timer = setTimeout(done, DRAIN_MS);
    req.on('data', onData).once('end', done).once('error', done).once('close', done);
    req.resume();
  });
}
