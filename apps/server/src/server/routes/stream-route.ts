import type { FastifyInstance } from 'fastify';
import { StreamConnection, type StreamContext } from '../stream/stream-connection.js';

/** `GET /v1/stream`: the live streaming WebSocket. */
export function streamRoute(app: FastifyInstance, ctx: StreamContext, accepting: () => boolean): void {
  app.get('/v1/stream', { websocket: true }, (socket) => {
    if (!accepting()) {
      socket.send(JSON.stringify({ type: 'error', code: 'SHUTTING_DOWN', message: 'the server is shutting down; connect to another instance or retry later' }));
      socket.close(1001, 'shutting down');
      return;
    }
    new StreamConnection(socket, ctx);
  });
}
