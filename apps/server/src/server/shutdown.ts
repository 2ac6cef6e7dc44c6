import { errorMessage, silentLogger, type Logger } from '@echopanel/core';
import type { RunningServer } from './start-server.js';

export interface ShutdownSignalOptions {
  readonly logger?: Logger;
  /** Called after a graceful stop with the exit code (default `process.exit`). */
  readonly exit?: (code: number) => void;
  readonly signals?: readonly NodeJS.Signals[];
}

/**
 * SIGTERM / SIGINT: stop accepting, finish live streams within the grace period (their finals and `done` go
 * out), unload the model, exit 0. A second signal exits at once (code 130).
 */
export function installShutdownSignals(server: RunningServer, options: ShutdownSignalOptions = {}): () => void {
  const logger = options.logger ?? silentLogger;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      exit(130);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'signal received: shutting down gracefully');
    server.close().then(
      () => exit(0),
      (err: unknown) => {
        logger.error({ err: errorMessage(err) }, 'shutdown failed');
        exit(1);
      },
    );
  };
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
