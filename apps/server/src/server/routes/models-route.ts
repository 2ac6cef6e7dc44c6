import type { FastifyInstance } from 'fastify';
import type { EngineHost } from '../engine-host.js';

/**
 * `GET /v1/models` in OpenAI's list shape: the loaded model, and `whisper-1` (the name OpenAI clients send by
 * default), which this server maps to the loaded model.
 */
export function modelsRoute(app: FastifyInstance, engine: EngineHost, startedAt: number): void {
  app.get('/v1/models', async () => {
    const created = Math.floor(startedAt / 1000);
    const ids = [...new Set([engine.modelName, 'whisper-1'])];
    return {
      object: 'list',
      data: ids.map((id) => ({ id, object: 'model', created, owned_by: `echopanel:${engine.providerName}` })),
    };
  });
}
