import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { apiErrorBody } from '../api-error.js';

/** The built panel (scripts/build-panel.mjs → dist/panel), found from src/ (tests) as from dist/. */
export const PANEL_DIR = fileURLToPath(new URL('../../../dist/panel/', import.meta.url));

/** The page may load only its own files and talk only to this server (no CDN, nothing inline). */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/**
 * `GET /`: the panel, a live transcription page on the same origin as the API, and its files under `/panel/`.
 * Public (see auth.ts): the page itself asks for the API key.
 */
export async function panelRoute(app: FastifyInstance, dir = PANEL_DIR): Promise<void> {
  if (!existsSync(path.join(dir, 'index.html'))) {
    app.get('/', (_req, reply) =>
      reply
        .code(404)
        .send(apiErrorBody('PANEL_NOT_BUILT', `the panel is not built (${dir} is missing): run "npm run build -w @echopanel/server" (npm start does)`, 404)),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/panel/',
    // Only the files built: anything else is the API's 404, not a file lookup.
    wildcard: false,
    index: false,
    setHeaders: (res) => {
      res.setHeader('content-security-policy', CSP);
      res.setHeader('x-content-type-options', 'nosniff');
    },
  });
  // sendFile applies setHeaders too.
  app.get('/', (_req, reply) => reply.sendFile('index.html'));
}
