import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { StreamConnection, type StreamContext } from '../stream/stream-connection.js';

/** `GET /v1/stream`: the live streaming WebSocket. */
export function streamRoute(app: FastifyInstance, ctx: StreamContext, accepting: () => boolean): void {
  app.get('/v1/stream', { websocket: true }, (socket) => {
    if (!accepting()) {
      socket.send(JSON.stringify({ type: 'error', code: 'SHUTTING_DOWN', message: 'the server is shutting down; connect to another instance or retry later' }));
      socket.close(1001, 'shutting down');
      return;
    }
    explainOversizedFrames(socket, ctx.maxFrameBytes);
    new StreamConnection(socket, ctx);
  });
}

/**
 * A frame far over maxFrameBytes (4×, at least 1 MiB) closes the stream with 1009, and so does one over ws's
 * payload cap (sized for /v1/realtime's large JSON events), which ws closes without a reason: say what
 * happened (an `error` message and the close reason) so the client can fix it.
 */
function explainOversizedFrames(socket: WebSocket, maxFrameBytes: number): void {
  const hardLimit = Math.max(maxFrameBytes * 4, 1 << 20);
  // Registered before the connection's own listener: the frame is refused before it is looked at.
  socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength;
    if (size > hardLimit && socket.readyState === socket.OPEN) socket.close(1009);
  });
  const close = socket.close.bind(socket);
  socket.close = (code?: number, reason?: string | Buffer) => {
    if (code === 1009 && reason === undefined && socket.readyState === socket.OPEN) {
      const message = `a WebSocket frame exceeded this server's payload limit; send audio in frames of at most ${maxFrameBytes} bytes (server.limits.maxFrameBytes)`;
      socket.send(JSON.stringify({ type: 'error', code: 'FRAME_TOO_LARGE', message }));
      return close(code, 'frame too large');
    }
    return close(code, reason);
  };
}
