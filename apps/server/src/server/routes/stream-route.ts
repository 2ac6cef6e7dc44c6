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
 * ws closes a connection whose frame exceeds its payload cap with 1009 but no reason; say what happened (an
 * `error` message and the close reason) so the client can fix it.
 */
function explainOversizedFrames(socket: WebSocket, maxFrameBytes: number): void {
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
