import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiErrorBody } from './api-error.js';

export interface OriginGuardOptions {
  /** The address the server is bound to. */
  readonly host: string;
  /** `server.allowedHosts`: further names the server answers to (e.g. behind a reverse proxy). */
  readonly allowedHosts: readonly string[];
  /** `server.corsOrigins`: foreign origins allowed to open streams and send state-changing requests. */
  readonly corsOrigins: readonly string[];
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '']);

/**
 * Cross-site guards for a server a browser can reach (browsers apply no CORS to WebSockets, and DNS rebinding
 * makes any name point at 127.0.0.1):
 * - `Host` must be one of the bound names (localhost, 127.0.0.1, [::1], the configured host, `allowedHosts`;
 *   on a wildcard bind also any IP address): else 403 HOST_NOT_ALLOWED.
 * - A WebSocket upgrade or state-changing request that carries `Origin` must come from the same origin or one of
 *   `corsOrigins`: else 403 ORIGIN_NOT_ALLOWED. Requests without `Origin` (curl, SDKs) are not browsers' and pass.
 */
export function installOriginGuard(app: FastifyInstance, options: OriginGuardOptions): void {
  const names = new Set(['localhost', '127.0.0.1', '::1', normalizeHost(options.host), ...options.allowedHosts.map(normalizeHost)]);
  const anyIp = WILDCARD_BINDS.has(options.host);
  const origins = new Set(options.corsOrigins.map((o) => o.replace(/\/$/, '').toLowerCase()));
  app.addHook('onRequest', async (req, reply) => {
    const host = req.headers.host;
    if (host !== undefined) {
      const name = normalizeHost(hostName(host));
      if (!names.has(name) && !(anyIp && isIP(name) !== 0)) {
        return refuse(req, reply, 'HOST_NOT_ALLOWED', `Host "${host.slice(0, 100)}" is not a name this server answers to; add it to server.allowedHosts`);
      }
    }
    const origin = req.headers.origin;
    if (origin === undefined || !(req.headers.upgrade || STATE_CHANGING.has(req.method))) return;
    const o = origin.replace(/\/$/, '').toLowerCase();
    if (origins.has('*') || origins.has(o) || sameOrigin(o, host)) return;
    return refuse(req, reply, 'ORIGIN_NOT_ALLOWED', `requests from the web origin ${origin.slice(0, 100)} are not allowed; add it to server.corsOrigins`);
  });
}

function refuse(req: FastifyRequest, reply: import('fastify').FastifyReply, code: string, message: string) {
  // A refused WebSocket upgrade must not leave its socket open.
  if (req.headers.upgrade) reply.header('connection', 'close');
  return reply.code(403).send(apiErrorBody(code, message, 403));
}

/** `Origin` names the same host and port the request was sent to. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    return new URL(origin).host === new URL(`http://${host}`).host;
  } catch {
    return false;
  }
}

/** The name part of a Host header (`[::1]:8080` → `[::1]`, `a.b:80` → `a.b`). */
function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
}

function normalizeHost(h: string): string {
  return h.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}
