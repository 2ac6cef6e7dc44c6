import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { RealtimeConnection } from '../realtime/realtime-connection.js';
import type { StreamContext } from '../stream/stream-connection.js';

/** `GET /v1/realtime?intent=transcription`: OpenAI's Realtime transcription API over WebSocket. */
export function realtimeRoute(app: FastifyInstance, ctx: StreamContext, accepting: () => boolean): void {
  app.get('/v1/realtime', { websocket: true }, (socket, req) => {
    const query = req.query as Record<string, unknown>;
    const refuse = (type: 'invalid_request_error' | 'server_error', code: string, message: string, closeCode: number) => {
      socket.send(JSON.stringify({ type: 'error', event_id: `event_${randomUUID()}`, error: { type, code, message, param: null, event_id: null } }));
      socket.close(closeCode, code);
    };
    if (!accepting()) return refuse('server_error', 'SHUTTING_DOWN', 'the server is shutting down; connect to another instance or retry later', 1001);
    // Conversation sessions (`?model=…`) need a speech-to-speech model; only transcription is served here.
    if (query.intent !== 'transcription' && (query.intent !== undefined || query.model !== undefined)) {
      return refuse('invalid_request_error', 'unsupported_intent', 'this server offers transcription sessions only: connect to /v1/realtime?intent=transcription', 1008);
    }
    const beta = /realtime=v1/i.test(String(req.headers['openai-beta'] ?? ''));
    new RealtimeConnection(socket, ctx, { beta });
  });
}
