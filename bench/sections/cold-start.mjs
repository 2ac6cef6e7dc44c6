// Cold start of the real CLI (`echopanel serve`): process start → listening (Node boot, config, plugin import and
// registry, HTTP listen) → /health 200, with the model's load and warmup times as /health reports them.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchConfig, repoRoot, writeConfig } from '../lib/server-process.mjs';
import { fmtRange, markdownTable, summary } from '../lib/stats.mjs';

const cli = path.join(repoRoot, 'apps', 'server', 'dist', 'bin', 'echopanel.js');

async function once(configFile) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [cli, 'serve', '--config', configFile, '--host', '127.0.0.1', '--port', '0'], {
    cwd: repoRoot,
    env: { ...process.env, ECHOPANEL_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    let url;
    for await (const line of createInterface({ input: child.stdout })) {
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m) {
        url = m[1];
        break;
      }
    }
    if (!url) throw new Error(`echopanel serve exited without listening: ${stderr.slice(-500)}`);
    const listening = performance.now() - t0;
    for (;;) {
      const r = await fetch(`${url}/health`).catch(() => undefined);
      if (r?.status === 200) {
        const body = await r.json();
        const ready = performance.now() - t0;
        return { listeningMs: listening, readyMs: ready, loadMs: body.load_time_ms, warmupMs: body.warmup_time_ms };
      }
      if (r && r.status !== 503) throw new Error(`/health answered ${r.status}`);
      const body = r ? await r.json() : undefined;
      if (body?.status === 'error') throw new Error(`model failed: ${body.reason}`);
      if (performance.now() - t0 > 180000) throw new Error('not ready within 180 s');
      await sleep(10);
    }
  } finally {
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 15000);
    await exited;
    clearTimeout(t);
  }
}

export async function coldStartSection({ providers, runs, log }) {
  const results = [];
  for (const name of providers) {
    log(`cold start: ${name} (${runs} runs)`);
    const file = writeConfig(benchConfig({ provider: name, segmentation: 'vad' }));
    await once(file); // the first start after a build also fills OS caches; not counted
    const xs = [];
    for (let i = 0; i < runs; i++) xs.push(await once(file));
    const s = (k) => summary(xs.map((x) => x[k]));
    const other = summary(xs.map((x) => x.readyMs - x.listeningMs - x.loadMs - x.warmupMs));
    results.push({ provider: name, listeningMs: s('listeningMs'), loadMs: s('loadMs'), warmupMs: s('warmupMs'), otherMs: other, readyMs: s('readyMs'), raw: xs });
  }
  const table = markdownTable(
    ['provider', 'start → listening (boot + config + plugins)', 'model load', 'warmup', 'rest (VAD, polling)', 'start → /health 200'],
    results.map((r) => [r.provider, fmtRange(r.listeningMs, 0, ' ms'), fmtRange(r.loadMs, 0, ' ms'), fmtRange(r.warmupMs, 0, ' ms'), fmtRange(r.otherMs, 0, ' ms'), fmtRange(r.readyMs, 0, ' ms')]),
  );
  const md = `### Cold start (\`echopanel serve\`, tiny.en, VAD on)\n\nMedian of ${runs} starts after one uncounted start (min–max). Load and warmup as \`/health\` reports them; /health polled every 10 ms.\n\n${table}`;
  return { md, json: { runs, results } };
}
