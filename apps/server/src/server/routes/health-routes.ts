import type { FastifyInstance } from 'fastify';
import type { EngineHost } from '../engine-host.js';
import type { RequestGate } from '../request-gate.js';

/** `/health` (deep: 200 only when the model is READY), `/health/live` (the process serves), `/model-status`, `/capabilities` (with the jobs queue). */
export function healthRoutes(
  app: FastifyInstance,
  engine: EngineHost,
  gate: RequestGate,
  jobs: () => Record<string, unknown>,
  config: () => Record<string, unknown>,
): void {
  app.get('/health', async (_req, reply) => {
    const r = engine.readiness();
    if (r.next_retry_at) reply.header('retry-after', String(Math.max(1, Math.ceil((Date.parse(r.next_retry_at) - Date.now()) / 1000))));
    // The queue lets a load balancer prefer a less busy instance.
    return reply.code(r.status === 'ok' ? 200 : 503).send({ ...r, queue: gate.stats(), service: 'echopanel' });
  });
  app.get('/health/live', async () => ({ status: 'ok' }));
  // `config`: the revision in force and the last reload (what it applied, what needs a restart, why it was refused).
  app.get('/model-status', async () => ({ ...engine.modelStatus(), config: config() }));
  app.get('/capabilities', async () => ({ ...(await engine.capabilities()), jobs: jobs() }));
}
