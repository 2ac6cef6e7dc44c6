import type { FastifyInstance } from 'fastify';
import type { ServerMetrics } from '../metrics.js';

/** `GET /metrics` in the Prometheus text format. */
export function metricsRoute(app: FastifyInstance, metrics: ServerMetrics): void {
  app.get('/metrics', async (_req, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(body);
  });
}
