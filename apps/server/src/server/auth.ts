import { timingSafeEqual, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { EchoPanelError } from '@echopanel/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiErrorBody } from './api-error.js';

/** Routes reachable without the API key: liveness and readiness (load balancers' probes), and the panel's page and files (the page asks for the key). */
const PUBLIC_ROUTES = new Set(['/health/live', '/health/ready', '/']);
/** A file of the panel: one plain name under /panel/ (no dot segments, no encoding). */
const PANEL_FILE = /^\/panel\/[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** WebSocket routes, where browsers cannot set headers. */
const WEBSOCKET_ROUTES = new Set(['/v1/stream', '/v1/realtime']);

/** Subprotocol prefix by which OpenAI's Realtime SDK sends the key from a browser (`openai-insecure-api-key.KEY`). */
export const API_KEY_SUBPROTOCOL = 'openai-insecure-api-key.';

/**
 * Requires the API key on every route but `/health/live` and the panel's files: `Authorization: Bearer KEY` or `X-API-Key: KEY`, or
 * (browsers cannot set headers on a WebSocket) on the WebSocket routes `?api_key=KEY` or the subprotocol
 * `openai-insecure-api-key.KEY`.
 */
export function installApiKey(app: FastifyInstance, apiKey: string | undefined): void {
  if (!apiKey) return;
  const expected = digest(apiKey);
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0];
    if (PUBLIC_ROUTES.has(path) || (PANEL_FILE.test(path) && !path.includes('..')) || req.method === 'OPTIONS') return;
    const given = presentedKey(req);
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return;
    const message = given === undefined
      ? 'this server requires an API key: send "Authorization: Bearer <key>" (or X-API-Key)'
      : 'the API key is not valid';
    // A refused WebSocket upgrade must not leave its socket open (it is outside the HTTP server's keep-alive handling).
    if (req.headers.upgrade) reply.header('connection', 'close');
    return reply.code(401).header('www-authenticate', 'Bearer').send(apiErrorBody('UNAUTHORIZED', message, 401));
  });
}

function presentedKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  const x = req.headers['x-api-key'];
  if (typeof x === 'string' && x) return x;
  if (WEBSOCKET_ROUTES.has(req.url.split('?')[0])) {
    const q = (req.query as Record<string, unknown> | undefined)?.api_key;
    if (typeof q === 'string' && q) return q;
    const offered = req.headers['sec-websocket-protocol']?.split(',').map((p) => p.trim()) ?? [];
    const key = offered.find((p) => p.startsWith(API_KEY_SUBPROTOCOL))?.slice(API_KEY_SUBPROTOCOL.length);
    if (key) return key;
  }
  return undefined;
}

// Equal-length digests make the comparison constant-time regardless of the key's length.
function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** True for 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

/** Refuses to expose the server beyond this machine without an API key. */
export function assertSafeBind(host: string, apiKey: string | undefined): void {
  if (!apiKey && !isLoopbackHost(host)) {
    throw new EchoPanelError(
      'API_KEY_REQUIRED',
      `refusing to listen on ${host} without an API key: set server.apiKey or ECHOPANEL_API_KEY, or bind 127.0.0.1`,
    );
  }
}
