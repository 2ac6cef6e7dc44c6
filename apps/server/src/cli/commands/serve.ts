import type { Command } from 'commander';
import { createLogger } from '@echopanel/core';
import { installShutdownSignals, startServer } from '../../server/index.js';
import { loadRuntime } from '../load-runtime.js';
import { hostOption, portOption } from '../option-values.js';

/** `echopanel serve`: starts the HTTP/WebSocket server; reloads the config on SIGHUP; resolves with the exit code after SIGTERM/SIGINT. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('start the server')
    .option('--config <file>', 'config file')
    .option('--host <host>', 'bind address (default: server.host)', hostOption)
    .option('--port <port>', 'port, 0 = any free port (default: server.port)', portOption)
    .action(async (opts: { config?: string; host?: string; port?: number }) => {
      // A server logs at info to stdout (pino JSON); one-shot commands keep stdout for their output.
      const logger = createLogger({ level: process.env.ECHOPANEL_LOG_LEVEL ?? 'info' });
      const runtime = await loadRuntime({ config: opts.config }, logger);
      const reloadRuntime = () => loadRuntime({ config: opts.config }, logger);
      const server = await startServer({ runtime, host: opts.host, port: opts.port, logger, reloadRuntime });
      process.stdout.write(`EchoPanel listening on ${server.url} (GET ${server.url}/health turns 200 when the model is ready)\n`);
      // SIGHUP reloads the config (the reloader logs what it did).
      const onHup = () => void server.reload('SIGHUP');
      process.on('SIGHUP', onHup);
      const code = await new Promise<number>((resolve) => installShutdownSignals(server, { logger, exit: resolve }));
      process.off('SIGHUP', onHup);
      await runtime.dispose();
      if (code !== 0) process.exitCode = code;
    });
}
