#!/usr/bin/env node
// Memory of batch jobs (build first: npx tsc -b apps/server). Not a test: prints numbers.
//   node apps/server/bench/jobs-memory.mjs [--seconds 60] [--jobs 3]
// Runs the same jobs on a server with the in-process queue and on one with the BullMQ queue (a redis-server it
// starts on a loopback port), sampling RSS every 50 ms: the Node process (with BullMQ's sandbox worker thread in
// the Redis case) and the engine's Python worker, i.e. what one resident model costs. The sandbox sends the
// transcription to the server's engine instead of loading a runtime of its own; a sandbox with its own model would
// add about one more Python worker per concurrent job.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { encodeWav } from '@echopanel/core';
import { concatPcm, silence, SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import { MiB, treeRss } from '../../../bench/lib/proc.mjs';
import { benchConfig, startBenchServer } from '../../../bench/lib/server-process.mjs';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, jobs: { type: 'string', default: '3' } } });
const seconds = Number(values.seconds);
const jobCount = Number(values.jobs);

const once = concatPcm(...SPEECH_SENTENCES.flatMap((t) => [synthesizeSpeech(t).samples, silence(0.5)]));
const pcm = concatPcm(...Array.from({ length: Math.ceil((seconds * 16000) / once.length) }, () => once)).subarray(0, seconds * 16000);
const wav = encodeWav(pcm, 16000);

async function startRedis() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-redis-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  return { url: `redis://127.0.0.1:${port}`, stop: () => (child.kill(), rmSync(dir, { recursive: true, force: true })) };
}

/** Peak and mean RSS (MiB) of the Node process and of the rest of its tree while `fn` runs. */
async function sampled(pid, fn) {
  const node = [];
  const engine = [];
  const timer = setInterval(() => {
    const t = treeRss(pid);
    node.push(t.root / MiB);
    engine.push((t.total - t.root) / MiB);
  }, 50);
  const out = await fn();
  clearInterval(timer);
  const stat = (xs) => ({ peak: Math.max(...xs), mean: xs.reduce((a, b) => a + b, 0) / xs.length });
  return { out, node: stat(node), engine: stat(engine) };
}

async function runJobs(url) {
  const ms = [];
  for (let i = 0; i < jobCount; i++) {
    const fd = new FormData();
    fd.set('file', new Blob([wav]), 'speech.wav');
    const t0 = performance.now();
    const { id } = await (await fetch(`${url}/v1/jobs`, { method: 'POST', body: fd })).json();
    for (;;) {
      const j = await (await fetch(`${url}/v1/jobs/${id}`)).json();
      if (j.status === 'completed' || j.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    ms.push(performance.now() - t0);
  }
  return ms;
}

const rows = [];
for (const mode of ['in-process', 'redis']) {
  const redis = mode === 'redis' ? await startRedis() : undefined;
  const storageDir = mkdtempSync(path.join(os.tmpdir(), 'bench-jobs-'));
  const config = { ...benchConfig({ provider: 'faster-whisper' }), jobs: { storageDir, ...(redis ? { redisUrl: redis.url } : {}) } };
  const server = await startBenchServer(config);
  const idle = treeRss(server.pid);
  const run = await sampled(server.pid, () => runJobs(server.url));
  const after = treeRss(server.pid);
  rows.push({
    mode,
    idleNode: idle.root / MiB,
    idleEngine: (idle.total - idle.root) / MiB,
    peakNode: run.node.peak,
    peakEngine: run.engine.peak,
    afterNode: after.root / MiB,
    jobSeconds: run.out.map((m) => m / 1000),
  });
  await server.stop();
  redis?.stop();
  rmSync(storageDir, { recursive: true, force: true });
}

const f = (n) => n.toFixed(0).padStart(5);
console.log(`${jobCount} jobs of ${seconds} s speech each, one at a time (faster-whisper tiny.en int8, beam 5)`);
console.log('queue       node RSS MiB: idle  peak after | engine (Python) RSS MiB: idle  peak | job wall s');
for (const r of rows) {
  console.log(`${r.mode.padEnd(11)}             ${f(r.idleNode)} ${f(r.peakNode)} ${f(r.afterNode)} |                        ${f(r.idleEngine)} ${f(r.peakEngine)} | ${r.jobSeconds.map((s) => s.toFixed(1)).join(' ')}`);
}
const [local, shared] = rows;
console.log(`sandbox + BullMQ cost in the Node process at peak: ${(shared.peakNode - local.peakNode).toFixed(0)} MiB; one resident model (what a sandbox with its own runtime would add per concurrent job): ${local.peakEngine.toFixed(0)} MiB`);
