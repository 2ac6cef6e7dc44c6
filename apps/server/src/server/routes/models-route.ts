import { isEchoPanelError } from '@echopanel/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { apiErrorBody, toApiError } from '../api-error.js';
import type { EngineHost } from '../engine-host.js';
import type { ModelControl } from '../models/model-control.js';

/** Statuses of the model routes' own refusals. */
const STATUS: Record<string, number> = { MODEL_NOT_FOUND: 404, INSUFFICIENT_MEMORY: 507, INVALID_STATE: 409 };

/**
 * `GET /v1/models` in OpenAI's list shape: every model the loaded providers can serve (`provider:model`, with
 * state, size, sha256 and a memory estimate), and `whisper-1` (the name OpenAI clients send by default), which
 * maps to the serving model. `POST /v1/models/{id}/load` and `DELETE /v1/models/{id}` load and unload.
 */
export function modelsRoute(app: FastifyInstance, engine: EngineHost, control: ModelControl, startedAt: number): void {
  const created = Math.floor(startedAt / 1000);
  app.get('/v1/models', async () => {
    const models = await control.list();
    const serving = `${engine.providerName}:${engine.modelName}`;
    return {
      object: 'list',
      data: [
        ...models.map((m) => ({ object: 'model', created, owned_by: `echopanel:${m.provider}`, ...m })),
        { id: 'whisper-1', object: 'model', created, owned_by: `echopanel:${engine.providerName}`, alias_of: serving },
      ],
      preload: control.preloadStatus(),
    };
  });
  app.post<{ Params: { id: string } }>('/v1/models/:id/load', (req, reply) => answer(reply, () => control.load(req.params.id)));
  app.delete<{ Params: { id: string } }>('/v1/models/:id', (req, reply) => answer(reply, () => control.unload(req.params.id)));
}

async function answer(reply: FastifyReply, run: () => Promise<unknown>): Promise<FastifyReply> {
  let result: unknown;
  try {
    result = await run();
  } catch (err) {
    const status = isEchoPanelError(err) ? STATUS[err.code] : undefined;
    if (status === undefined) {
      const { status: s, body } = toApiError(err);
      return reply.code(s).send(body);
    }
    const e = err as { code: string; message: string; details?: Record<string, unknown> };
    return reply.code(status).send({ ...apiErrorBody(e.code, e.message, status), ...(e.details ? { details: e.details } : {}) });
  }
  return reply.send(result);
}
