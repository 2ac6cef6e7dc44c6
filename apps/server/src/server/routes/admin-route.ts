import type { FastifyInstance } from 'fastify';
import { apiErrorBody } from '../api-error.js';
import type { ConfigReloader } from '../reload/config-reloader.js';

/** Status of a reload that did not apply: the config is invalid (422), or the new model did not load (503). */
const FAILED_STATUS = { rejected: 422, failed: 503 } as const;

/** `POST /v1/admin/reload`: reloads the config file now (as SIGHUP and the file watch do) and answers with the report. */
export function adminRoute(app: FastifyInstance, reloader: ConfigReloader): void {
  app.post('/v1/admin/reload', async (_req, reply) => {
    const report = await reloader.reload('api');
    if (report.result === 'applied' || report.result === 'unchanged') return reply.send({ reload: report });
    const status = FAILED_STATUS[report.result];
    const error = report.error ?? { code: 'INTERNAL_ERROR', message: 'reload failed' };
    return reply.code(status).send({ ...apiErrorBody(error.code, error.message, status), reload: report });
  });
}
