import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import websocket from '@fastify/websocket';
import { EchoPanelError, errorMessage, ffmpegAvailable, ffmpegCommand, silentLogger, type EchoPanelRuntime, type Logger } from '@echopanel/core';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { apiErrorBody, toApiError } from './api-error.js';
import { drainRequest } from './drain-request.js';
import { API_KEY_SUBPROTOCOL, assertSafeBind, installApiKey } from './auth.js';
import { installOriginGuard } from './origin-guard.js';
import { RequestGate, installRequestGate } from './request-gate.js';
import { EngineHost } from './engine-host.js';
import { ServerMetrics } from './metrics.js';
import { healthRoutes } from './routes/health-routes.js';
import { metricsRoute } from './routes/metrics-route.js';
import { modelsRoute } from './routes/models-route.js';
import { ModelControl } from './models/model-control.js';
import { startIdleUnload } from './models/idle-unload.js';
import { panelRoute } from './routes/panel-route.js';
import { streamRoute } from './routes/stream-route.js';
import { transcriptionRoute } from './routes/transcription-route.js';
import { SessionRegistry } from './stream/session-registry.js';
import { readTlsMaterial } from './tls-options.js';
import type { LiveConnection, StreamContext } from './stream/stream-connection.js';
import { realtimeRoute } from './routes/realtime-route.js';
import { jobsRoute } from './routes/jobs-route.js';
import { readyRoute } from './routes/ready-route.js';
import { adminRoute } from './routes/admin-route.js';
import { ConfigReloader, type ReloadReport } from './reload/config-reloader.js';
import { createJobService } from './jobs/job-service.js';
import { REALTIME_MAX_MESSAGE_BYTES } from './realtime/realtime-events.js';

export interface StartServerOptions {
  readonly runtime: EchoPanelRuntime;
  /** Overrides `server.host`. */
  readonly host?: string;
  /** Overrides `server.port` (0 = any free port). */
  readonly port?: number;
  /** Defaults to the runtime's logger. A pino logger also becomes Fastify's request logger. */
  readonly logger?: Logger;
  /**
   * Loads the config again into a fresh runtime, as `runtime` was loaded: enables hot reload (the config file
   * watch, {@link RunningServer.reload}, `POST /v1/admin/reload`). Without it a reload reports NOT_SUPPORTED.
   */
  readonly reloadRuntime?: () => Promise<EchoPanelRuntime>;
}

export interface RunningServer {
  /** `http://host:port`, or `https://` with `server.tls` (the actual port when 0 was asked for). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly engine: EngineHost;
  /** Settles when the model (and VAD) finished initializing, successfully or not (see `/health`). */
  readonly initialized: Promise<void>;
  /** Reloads the config (SIGHUP, the file watch and `POST /v1/admin/reload` do the same); never throws. */
  reload(trigger?: string): Promise<ReloadReport>;
  /**
   * Graceful stop: refuses new work, finishes live streams (their finals and `done`) within
   * `server.shutdownGraceMs` (or `graceMs`), closes the listener and unloads the model. Idempotent.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Starts the EchoPanel HTTP/WebSocket server: selects the provider (configured, or the first available for
 * `auto`), starts listening, and initializes the model in the background (`/health` answers 503 until READY).
 * Refuses a non-loopback host without an API key.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { runtime } = options;
  const cfg = runtime.config.server;
  const logger = options.logger ?? runtime.logger ?? silentLogger;
  const host = options.host ?? cfg.host;
  const port = options.port ?? cfg.port;
  assertSafeBind(host, cfg.apiKey);
  const tls = cfg.tls ? readTlsMaterial(cfg.tls, runtime.configDir) : undefined;

  const engine = await EngineHost.create({ runtime, logger });
  const modelControl = new ModelControl(engine, runtime, logger);
  const reloader = new ConfigReloader({
    engine,
    runtime,
    logger,
    checkMemory: (provider, model) => modelControl.assertModelFits(provider, model),
    ...(options.reloadRuntime ? { loadRuntime: options.reloadRuntime } : {}),
  });
  const gate = new RequestGate(cfg.limits.maxConcurrentRequests, cfg.limits.maxQueuedRequests);
  const metrics = new ServerMetrics(engine, gate);
  const connections = new Set<LiveConnection>();
  const jobs = runtime.config.jobs.enabled ? createJobService(runtime, engine, metrics, logger) : undefined;
  let accepting = true;
  let draining = false;

  const app = Fastify({
    ...(isPino(logger) ? { loggerInstance: logger as unknown as FastifyBaseLogger } : {}),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    ...(tls ? { https: tls } : {}),
  }) as FastifyInstance;
  app.setErrorHandler(async (err, req, reply) => {
    const { status, body } = toApiError(err);
    if (status >= 500) logger.error({ err: errorMessage(err), url: req.url }, 'request failed');
    await drainRequest(req.raw);
    // An upload refused mid-body leaves the rest unread: close the connection rather than keep it busy.
    if (status === 413) reply.header('connection', 'close');
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(apiErrorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, 404)),
  );
  await app.register(cors, { origin: cfg.corsOrigins.length > 0 ? [...cfg.corsOrigins] : false });
  installOriginGuard(app, { host, allowedHosts: cfg.allowedHosts, corsOrigins: cfg.corsOrigins });
  installApiKey(app, cfg.apiKey);
  app.addHook('onRequest', async (req, reply) => {
    if (accepting || req.url.startsWith('/health')) return;
    return reply.code(503).header('connection', 'close').send(apiErrorBody('SHUTTING_DOWN', 'the server is shutting down', 503));
  });
  installRequestGate(app, gate, '/v1/audio/transcriptions');
  await app.register(multipart, {
    limits: { fileSize: cfg.limits.maxUploadBytes, files: 1, fields: 32, fieldSize: 64 * 1024, parts: 64 },
  });
  // Frames above maxFrameBytes get a clear error from the protocol; only far larger ones hit ws's hard limit.
  await app.register(websocket, {
    options: { maxPayload: Math.max(cfg.limits.maxFrameBytes * 4, REALTIME_MAX_MESSAGE_BYTES), handleProtocols: chooseSubprotocol },
  });

  const streamContext: StreamContext = {
    engine,
    sessions: new SessionRegistry(cfg.limits.maxSessions),
    metrics,
    logger,
    maxFrameBytes: cfg.limits.maxFrameBytes,
    maxSessionSeconds: cfg.limits.maxSessionSeconds,
    resampleOtherRates: cfg.resampleOtherRates,
    connections,
  };
  const startedAt = Date.now();
  healthRoutes(app, engine, gate, () => jobs?.info() ?? { enabled: false }, () => reloader.status());
  adminRoute(app, reloader);
  readyRoute(app, { engine, gate, sessions: streamContext.sessions, maxSessions: cfg.limits.maxSessions, draining: () => draining });
  if (jobs) jobsRoute(app, jobs, engine);
  metricsRoute(app, metrics);
  modelsRoute(app, engine, modelControl, startedAt);
  transcriptionRoute(app, engine, metrics, { resampleOtherRates: cfg.resampleOtherRates, maxUploadSeconds: cfg.limits.maxUploadSeconds });
  streamRoute(app, streamContext, () => accepting);
  realtimeRoute(app, streamContext, () => accepting);
  await panelRoute(app);
  engine.onStatusChange(() => {
    for (const c of connections) c.sendStatus();
    if (engine.readyProvider()) jobs?.start();
  });

  // Upgraded sockets leave the HTTP server's bookkeeping: track them so a shutdown can end every one.
  const upgraded = new Set<import('node:stream').Duplex>();
  app.server.on('upgrade', (_req, socket) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
  });
  // An upgrade answered with an HTTP error (401, 404, 503) is over: end its socket now.
  app.addHook('onResponse', async (req, reply) => {
    if (req.headers.upgrade && reply.statusCode >= 400) req.raw.socket?.end();
  });
  try {
    await app.listen({ host, port });
  } catch (err) {
    await jobs?.close(0);
    await engine.close();
    throw listenError(err, host, port);
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  logger.info({ url, provider: engine.providerName }, 'server listening; loading the model');
  void ffmpegAvailable().then((ok) => {
    if (!ok) logger.warn({ ffmpeg: ffmpegCommand().ffmpeg }, 'ffmpeg is not installed: uploads will fail with DECODER_UNAVAILABLE (apt-get install ffmpeg, or set ECHOPANEL_FFMPEG)');
  });
  const initialized = engine.start();
  await reloader.watch();
  const stopIdleUnload = startIdleUnload(engine, runtime.config, logger);
  // After the serving model is up, so preparing weights (a download, a conversion) does not delay it.
  void initialized.then(() => modelControl.preload(runtime.config.models.preload));
  // Jobs are taken once the model can transcribe them (also after a recovery: see onStatusChange).
  void initialized.then(() => {
    if (engine.readyProvider()) jobs?.start();
  });

  let closing: Promise<void> | undefined;
  const close = (opts: { graceMs?: number } = {}): Promise<void> => {
    closing ??= (async () => {
      // Readiness fails first, so load balancers stop sending work while this replica still serves it.
      draining = true;
      if (cfg.drainDelayMs > 0) await new Promise((r) => setTimeout(r, cfg.drainDelayMs));
      accepting = false;
      const grace = opts.graceMs ?? cfg.shutdownGraceMs;
      logger.info({ streams: connections.size, graceMs: grace }, 'shutting down: finishing live streams and running jobs');
      await Promise.all([...[...connections].map((c) => c.shutdown(grace)), jobs?.close(grace)]);
      // In-flight HTTP requests get the grace period too; then whatever is left is cut.
      const closed = app.close();
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([closed.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), grace)))]);
      clearTimeout(timer);
      if (late) {
        logger.warn({}, 'requests still open after the grace period; closing their connections');
        app.server.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
        await closed;
      }
      stopIdleUnload();
      await reloader.close();
      await engine.close();
      logger.info({}, 'server stopped');
    })();
    return closing;
  };

  return { url, host, port: actualPort, app, engine, initialized, reload: (trigger = 'api') => reloader.reload(trigger), close };
}

/** The subprotocol answered to a client that offers some: never the one carrying its API key (see auth.ts). */
function chooseSubprotocol(offered: Set<string>): string | false {
  for (const p of offered) if (!p.startsWith(API_KEY_SUBPROTOCOL)) return p;
  return false;
}

function isPino(logger: Logger): boolean {
  const l = logger as unknown as Record<string, unknown>;
  return typeof l.fatal === 'function' && typeof l.level === 'string';
}

/** A failed `listen` as LISTEN_FAILED with what to do, keyed on the errno. */
function listenError(err: unknown, host: string, port: number): EchoPanelError {
  const where = `cannot listen on ${host}:${port}`;
  const errno = (err as NodeJS.ErrnoException).code;
  const why =
    errno === 'EADDRINUSE'
      ? 'the port is in use (another server?); stop it or choose another port (--port, server.port or ECHOPANEL_PORT)'
      : errno === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges); choose a port above 1023'
        : errno === 'EADDRNOTAVAIL' || errno === 'ENOTFOUND'
          ? `this machine has no address ${host}; bind 127.0.0.1, 0.0.0.0 or one of its own addresses`
          : errorMessage(err);
  return new EchoPanelError('LISTEN_FAILED', `${where}: ${why}`, { cause: err, details: { host, port, errno } });
}
