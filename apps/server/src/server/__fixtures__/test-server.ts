import { createRuntime, type EchoPanelConfigInput, type EchoPanelRuntime } from '@echopanel/core';
import { startServer, type RunningServer } from '../start-server.js';
import { REPO_ROOT, TEST_PYTHON } from './real-engine.js';

/** Env for the runtime: this machine's, without EchoPanel overrides, with the test Python. */
export function testEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ECHOPANEL_')) env[k] = v;
  return { ...env, ECHOPANEL_PYTHON: TEST_PYTHON, ECHOPANEL_ALLOW_DOWNLOAD: 'false', ...extra };
}

/** The real runtime (real plugin loading from the repo root) with the embedded default engine. */
export async function testRuntime(config: EchoPanelConfigInput = {}, env: Record<string, string> = {}): Promise<EchoPanelRuntime> {
  return createRuntime({
    inline: {
      ...config,
      asr: { provider: 'faster-whisper', warmupLevel: 2, ...config.asr },
      providers: { 'faster-whisper': { model: 'tiny.en', beamSize: 1 }, ...config.providers },
    },
    cwd: REPO_ROOT,
    env: testEnv(env),
  });
}

/** A real server on a loopback port (port 0). */
export async function testServer(config: EchoPanelConfigInput = {}): Promise<{ server: RunningServer; runtime: EchoPanelRuntime }> {
  const runtime = await testRuntime(config);
  const server = await startServer({ runtime, host: '127.0.0.1', port: 0 });
  return { server, runtime };
}

export async function stopServer(s: { server: RunningServer; runtime: EchoPanelRuntime } | undefined): Promise<void> {
  if (!s) return;
  await s.server.close({ graceMs: 5000 });
  await s.runtime.dispose();
}

/** Polls `/health` until it answers `status` (or throws after `timeoutMs`). */
export async function waitForHealth(url: string, status: number, headers: Record<string, string> = {}, timeoutMs = 180000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/health`, { headers });
    const body = await res.json();
    if (res.status === status) return body;
    if (Date.now() > deadline) throw new Error(`/health stayed ${res.status}: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Prometheus text → samples (name with labels → value); throws on a line that is not valid exposition format.
 * Values parse as Go's ParseFloat does (NaN and Inf in any case: prom-client writes `Nan`).
 */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) {
      if (line.startsWith('#') && !/^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) throw new Error(`bad comment line: ${line}`);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (-?[0-9.eE+-]+|[nN][aA][nN]|[+-]?[iI][nN][fF])$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    out.set(m[1], /^[nN]/.test(m[2]) ? Number.NaN : /inf/i.test(m[2]) ? (m[2].startsWith('-') ? -Infinity : Infinity) : Number(m[2]));
  }
  return out;
}
