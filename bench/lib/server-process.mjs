// Starts and stops benchmark servers (bench/lib/server-child.mjs) with a generated config per provider and
// segmentation. Configs live in bench/.cache so plugins and the project's .venv resolve from the repository.
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { treeRss } from './proc.mjs';

const NATIVE_NOISE = /^(whisper_|ggml_|system_info|\s*$)|FSTDEP023|--trace-warnings/;

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(benchDir, '..');
export const cacheDir = path.join(benchDir, '.cache');

/**
 * The bench's config: one provider (no failover, so a measurement never silently switches engine), tiny.en
 * int8 for faster-whisper, the given segmentation, and limits high enough for the concurrency sweep. The degrade
 * ladder is off unless asked for: it retunes beam/chunk or drops audio under load, which would change what a
 * latency, RTF or accuracy figure measures (the concurrency sweep turns it on to show its behaviour).
 */
export function benchConfig({ provider, segmentation = 'vad', beam = 5, providerChunkSeconds, cppThreads, partialIntervalSeconds, degrade = false, vadOptions, asrOptions } = {}) {
  const chunk = providerChunkSeconds ? { chunkSeconds: providerChunkSeconds } : {};
  return {
    server: { host: '127.0.0.1', port: 0, limits: { maxSessions: 64 } },
    asr: {
      provider,
      language: 'en',
      chunkSeconds: 2,
      segmentation,
      ...(partialIntervalSeconds !== undefined ? { partialIntervalSeconds } : {}),
      degrade: { enabled: degrade },
      ...asrOptions,
    },
    vad: { provider: 'silero', enabled: segmentation === 'vad', ...(vadOptions ? { options: vadOptions } : {}) },
    providers: {
      'faster-whisper': { model: 'tiny.en', computeType: 'int8', beamSize: beam, ...chunk },
      'whisper-cpp': { model: 'tiny.en', beamSize: beam, ...(cppThreads ? { threads: cppThreads } : {}), ...chunk },
    },
  };
}

/** Writes a config to bench/.cache (content-addressed) and returns its path. */
export function writeConfig(config) {
  mkdirSync(cacheDir, { recursive: true });
  const json = JSON.stringify(config, null, 2);
  const file = path.join(cacheDir, `config-${createHash('sha256').update(json).digest('hex').slice(0, 12)}.json`);
  writeFileSync(file, json);
  return file;
}

function waitFor(child, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`bench server: no '${type}' within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (msg) => {
      if (msg.type === type) done(undefined, msg);
      else if (msg.type === 'error') done(new Error(`bench server: ${msg.message}`));
    };
    const onExit = (code) => done(new Error(`bench server exited with ${code} while waiting for '${type}'`));
    function done(err, msg) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(msg);
    }
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/**
 * Starts a server process for `config` and waits until its model is READY (throws with the server's reason
 * otherwise). The returned handle reads RSS of the process tree, unloads the model and stops the server.
 */
export async function startBenchServer(config, { timeoutMs = 180000 } = {}) {
  const file = writeConfig(config);
  const child = fork(path.join(benchDir, 'lib', 'server-child.mjs'), [file], {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, ECHOPANEL_LOG_LEVEL: 'warn' },
  });
  // whisper.cpp prints its model and timing logs to stderr; keep everything else.
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (!NATIVE_NOISE.test(line)) process.stderr.write(`[server] ${line}\n`);
  });
  child.on('message', (msg) => {
    if (msg.type === 'warn') process.stderr.write(`[bench] server warning: ${msg.message}\n`);
  });
  try {
    const listening = await waitFor(child, 'listening', timeoutMs);
    const init = await waitFor(child, 'initialized', timeoutMs);
    if (init.health.status !== 'ok') throw new Error(`bench server for ${config.asr.provider} is not ready: ${JSON.stringify(init.health)}`);
    const url = listening.url;
    return {
      url,
      wsUrl: `${url.replace(/^http/, 'ws')}/v1/stream`,
      pid: child.pid,
      health: init.health,
      rss: () => treeRss(child.pid),
      json: async (route) => (await fetch(`${url}${route}`)).json(),
      text: async (route) => (await fetch(`${url}${route}`)).text(),
      async unload() {
        child.send({ type: 'unload' });
        await waitFor(child, 'unloaded', 60000);
      },
      async stop() {
        if (child.exitCode !== null) return;
        child.send({ type: 'close' });
        const exited = new Promise((r) => child.once('exit', r));
        const t = setTimeout(() => child.kill('SIGKILL'), 15000);
        await exited;
        clearTimeout(t);
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}
