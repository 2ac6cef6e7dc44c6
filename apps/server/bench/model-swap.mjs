#!/usr/bin/env node
// Model load/unload through the API (build first: npx tsc -b apps/server). Not a test: prints numbers.
//   node apps/server/bench/model-swap.mjs [--rounds 3]
// A server on faster-whisper tiny.en; each round: DELETE it (RSS of the whole process tree before/after: the
// Python worker exits), POST /v1/models/whisper-cpp:tiny.en/load (load + warmup ms as the server reports them),
// DELETE that (native memory released), POST faster-whisper back. RSS is measured from outside (/proc of the
// server's process tree) besides what the server reports (its own RSS plus the worker's).
import { parseArgs } from 'node:util';
import { MiB } from '../../../bench/lib/proc.mjs';
import { benchConfig, startBenchServer } from '../../../bench/lib/server-process.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);
const mib = (b) => (b / MiB).toFixed(0);

const server = await startBenchServer(benchConfig({ provider: 'faster-whisper', beam: 1 }));
const call = async (method, route) => {
  const res = await fetch(`${server.url}${route}`, { method });
  const body = await res.json();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(body)}`);
  return body;
};
/** Runs `fn` and returns its answer with the process tree's RSS before and after. */
async function measured(fn) {
  const before = server.rss().total;
  const out = await fn();
  // Give the OS a moment to reap the worker before reading /proc again.
  await new Promise((r) => setTimeout(r, 300));
  return { out, before, after: server.rss().total };
}

try {
  console.log('round  step                      tree RSS before→after MiB  server-reported freed MiB  load ms  warmup ms');
  for (let i = 1; i <= rounds; i++) {
    for (const id of ['faster-whisper:tiny.en', 'whisper-cpp:tiny.en']) {
      if (i > 1 || id !== 'faster-whisper:tiny.en') {
        const l = await measured(() => call('POST', `/v1/models/${id}/load`));
        console.log(`${i}      load ${id.padEnd(22)} ${mib(l.before).padStart(5)} → ${mib(l.after).padEnd(18)} ${''.padEnd(26)} ${String(Math.round(l.out.load_time_ms)).padStart(7)}  ${String(Math.round(l.out.warmup_time_ms)).padStart(9)}`);
      }
      const u = await measured(() => call('DELETE', `/v1/models/${id}`));
      console.log(`${i}      unload ${id.padEnd(20)} ${mib(u.before).padStart(5)} → ${mib(u.after).padEnd(18)} ${mib(u.out.freed_bytes).padStart(25)}`);
    }
  }
} finally {
  await server.stop();
}
