import { errorMessage, type Logger, type ResolvedConfig } from '@echopanel/core';
import type { EngineHost } from '../engine-host.js';

/** The embedded default provider keeps its (small) model loaded unless told otherwise. */
const DEFAULT_PROVIDER = 'faster-whisper';
const DEFAULT_IDLE_SECONDS = 600;

/** `models.idleUnloadSeconds`, or its default for the serving provider (0 = never). */
export function idleUnloadSeconds(config: ResolvedConfig, provider: string): number {
  return config.models.idleUnloadSeconds ?? (provider === DEFAULT_PROVIDER ? 0 : DEFAULT_IDLE_SECONDS);
}

/**
 * Unloads the model after `models.idleUnloadSeconds` without a stream or request (a live stream holds it); the
 * next request loads it again. Returns the stop function.
 */
export function startIdleUnload(engine: EngineHost, config: ResolvedConfig, logger: Logger): () => void {
  let busy = false;
  const check = () => {
    const seconds = idleUnloadSeconds(config, engine.providerName);
    const manager = engine.manager;
    if (busy || seconds <= 0 || manager.state !== 'READY' || manager.idleMs() < seconds * 1000) return;
    busy = true;
    logger.info({ provider: engine.providerName, model: engine.modelName, idleSeconds: seconds }, 'unloading the idle model; the next request loads it again');
    manager
      .offload()
      .catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'idle unload failed'))
      .finally(() => (busy = false));
  };
  // Checked every second (the serving provider, and so the default, can change with a reload).
  const timer = setInterval(check, 1000);
  timer.unref();
  return () => clearInterval(timer);
}
