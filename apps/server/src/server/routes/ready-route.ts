import type { FastifyInstance } from 'fastify';
import type { EngineHost } from '../engine-host.js';
import type { RequestGate } from '../request-gate.js';
import type { SessionRegistry } from '../stream/session-registry.js';

export interface ReadinessSources {
  readonly engine: EngineHost;
  readonly gate: RequestGate;
  readonly sessions: SessionRegistry;
  readonly maxSessions: number;
  /** True from SIGTERM on. */
  readonly draining: () => boolean;
}

/**
 * `GET /health/ready`, for load balancers (public, like `/health/live`): 200 only when this replica should get new
 * work (the model READY, streams below server.limits.maxSessions, the upload queue not full, not shutting down),
 * else 503 with every reason.
 */
export function readyRoute(app: FastifyInstance, s: ReadinessSources): void {
  app.get('/health/ready', async (_req, reply) => {
    const reasons: string[] = [];
    if (s.draining()) reasons.push('shutting down (SIGTERM): draining');
    const r = s.engine.readiness();
    if (r.status !== 'ok') reasons.push(r.reason ?? `model ${r.model_state}`);
    const streams = s.sessions.activeStreams;
    if (streams >= s.maxSessions) reasons.push(`${streams} streams open: server.limits.maxSessions (${s.maxSessions}) reached`);
    const q = s.gate.stats();
    if (q.running >= q.maxRunning && q.queued >= q.maxQueued) {
      reasons.push(`the upload queue is full: ${q.running} running, ${q.queued} queued (server.limits.maxQueuedRequests ${q.maxQueued})`);
    }
    const body = { status: reasons.length === 0 ? 'ready' : 'not_ready', ...(reasons.length ? { reasons } : {}), model_state: r.model_state, streams, queue: q };
    return reply.code(reasons.length === 0 ? 200 : 503).send(body);
  });
}
