// A benchmark server process: the product's createRuntime + startServer on 127.0.0.1 port 0, driven over IPC by
// bench/lib/server-process.mjs (so the bench can also unload the model and read timings without a special route).
// argv: <config file>
import { createRuntime } from '@echopanel/core';
// The server's package barrel does not re-export the server (yet), so its built module is imported by path.
import { startServer } from '../../apps/server/dist/server/index.js';

const configFile = process.argv[2];
const t0 = performance.now();
const runtime = await createRuntime({ configFile, cwd: process.cwd() });
const tRuntime = performance.now();
if (runtime.failures.length) process.send({ type: 'warn', message: runtime.failureReport().join('; ') });
const server = await startServer({ runtime, host: '127.0.0.1', port: 0 });
process.send({ type: 'listening', url: server.url, runtimeMs: tRuntime - t0, listenMs: performance.now() - tRuntime });
await server.initialized;
process.send({ type: 'initialized', health: server.engine.readiness() });

process.on('message', async (msg) => {
  try {
    if (msg.type === 'unload') {
      await server.engine.manager.unload();
      process.send({ type: 'unloaded' });
    } else if (msg.type === 'close') {
      await server.close({ graceMs: 2000 });
      await runtime.dispose();
      process.send({ type: 'closed' });
      process.exit(0);
    }
  } catch (err) {
    process.send({ type: 'error', message: String(err?.stack ?? err) });
  }
});
