#!/usr/bin/env node
// Soak benchmark (not a test; build first: npx tsc -b apps/server). A real server process (faster-whisper tiny.en,
// VAD segmentation) takes `--sessions` live streams of real speech at real-time pace, `--wave` of them at a time;
// every `--sample-seconds` it samples the server's RSS (process tree and Node process), V8 heap and active
// handles. Prints the samples, the RSS/heap slope after warm-up (the first wave) as MB/hour, and the handle and
// process counts before the first wave and after the last (a leak shows as growth in either).
//   node apps/server/bench/soak.mjs                        # 50 sessions × 5 min, waves of 10 (25 min of waves)
//   node apps/server/bench/soak.mjs --sessions 4 --minutes 0.5 --wave 2 --sample-seconds 5   # a short look
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchConfig, repoRoot, startBenchServer } from '../../../bench/lib/server-process.mjs';
import { MiB, processTree } from '../../../bench/lib/proc.mjs';
import { metricValue as metric } from '../../../bench/lib/prometheus.mjs';
import { LATENCY_SENTENCES, utteranceStream } from '../../../bench/lib/speech.mjs';
import { streamPcm } from '../../../bench/lib/ws-stream.mjs';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '50' },
    minutes: { type: 'string', default: '5' },
    wave: { type: 'string', default: '10' },
    'sample-seconds': { type: 'string', default: '10' },
  },
});
const sessions = Number(values.sessions);
const minutes = Number(values.minutes);
const waveSize = Number(values.wave);
const sampleMs = Number(values['sample-seconds']) * 1000;

// One recording shared by every session: sentences with pauses, repeated to the session length.
const { pcm: loop } = utteranceStream(LATENCY_SENTENCES);
const samples = Math.round(minutes * 60 * 16000);
const pcm = new Int16Array(samples);
for (let i = 0; i < samples; i += loop.length) pcm.set(loop.subarray(0, Math.min(loop.length, samples - i)), i);

const server = await startBenchServer({ ...benchConfig({ provider: 'faster-whisper', beam: 1, partialIntervalSeconds: 0 }), server: { host: '127.0.0.1', port: 0, limits: { maxSessions: Math.max(64, waveSize) } } });
const t0 = performance.now();
const samplesTaken = [];
async function sample(label) {
  const text = await server.text('/metrics');
  const tree = server.rss();
  const s = {
    t: (performance.now() - t0) / 1000,
    label,
    treeRss: tree.total / MiB,
    nodeRss: metric(text, 'echopanel_process_resident_memory_bytes') / MiB,
    heap: metric(text, 'echopanel_nodejs_heap_size_used_bytes') / MiB,
    handles: metric(text, 'echopanel_nodejs_active_handles_total'),
    streams: metric(text, 'echopanel_streams_active'),
    processes: processTree(server.pid).length,
  };
  samplesTaken.push(s);
  return s;
}
const line = (s) =>
  `${s.t.toFixed(0).padStart(5)} s  ${s.label.padEnd(8)} tree RSS ${s.treeRss.toFixed(0).padStart(5)} MiB  node RSS ${s.nodeRss.toFixed(0).padStart(4)} MiB  ` +
  `heap ${s.heap.toFixed(1).padStart(6)} MiB  handles ${String(s.handles).padStart(3)}  streams ${String(s.streams).padStart(2)}  processes ${s.processes}`;

console.log(`soak: ${sessions} sessions × ${minutes} min real-time speech, ${waveSize} at a time; server ${server.url} (pid ${server.pid}); repo ${path.relative(process.cwd(), repoRoot) || '.'}`);
const idleBefore = await sample('idle');
console.log(line(idleBefore));
let label = 'wave 1';
const sampler = setInterval(() => void sample(label).then((s) => console.log(line(s))), sampleMs);

let finals = 0;
let dropped = 0;
let received = 0;
const errors = [];
let warmupEnd = 0;
for (let w = 0; w * waveSize < sessions; w++) {
  label = `wave ${w + 1}`;
  const n = Math.min(waveSize, sessions - w * waveSize);
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => streamPcm({ wsUrl: server.wsUrl, pcm, frameMs: 100, pace: 'realtime', timeoutMs: 600000, start: { source: `s${w}-${i}` } }).catch((err) => ({ failed: String(err) }))),
  );
  for (const r of results) {
    if (r.failed) {
      errors.push(r.failed);
      continue;
    }
    finals += r.events.filter((e) => e.type === 'final').length;
    dropped += r.done?.stats?.dropped_samples ?? 0;
    received += r.done?.stats?.received_samples ?? 0;
    errors.push(...r.errors.map((e) => `${e.code}: ${e.message}`));
  }
  if (w === 0) warmupEnd = (performance.now() - t0) / 1000;
}
clearInterval(sampler);
await new Promise((r) => setTimeout(r, 2000));
const idleAfter = await sample('idle');
console.log(line(idleAfter));

/** Least-squares slope of y over t (per second). */
function slope(points, key) {
  const n = points.length;
  if (n < 2) return NaN;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p[key], 0) / n;
  const num = points.reduce((a, p) => a + (p.t - mt) * (p[key] - my), 0);
  const den = points.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return den > 0 ? num / den : NaN;
}
const steady = samplesTaken.filter((s) => s.label !== 'idle' && s.t >= warmupEnd);
console.log('');
console.log(`sessions ${sessions}, audio ${(received / 16000 / 60).toFixed(1)} min received, ${finals} finals, ${dropped} samples dropped, ${errors.length} errors${errors.length ? `: ${[...new Set(errors)].slice(0, 3).join(' | ')}` : ''}`);
// The slope over a short run is dominated by the noise (the worker's RSS swings by tens of MiB per inference):
// read it against the range printed beside it.
const range = (key, digits) => `${Math.min(...steady.map((s) => s[key])).toFixed(digits)}–${Math.max(...steady.map((s) => s[key])).toFixed(digits)} MiB`;
console.log(
  `after warm-up (t ≥ ${warmupEnd.toFixed(0)} s, ${steady.length} samples): slope tree RSS ${(slope(steady, 'treeRss') * 3600).toFixed(1)} MiB/h (range ${range('treeRss', 0)}), ` +
    `node RSS ${(slope(steady, 'nodeRss') * 3600).toFixed(1)} MiB/h (${range('nodeRss', 0)}), heap ${(slope(steady, 'heap') * 3600).toFixed(1)} MiB/h (${range('heap', 1)})`,
);
console.log(`idle before → after: handles ${idleBefore.handles} → ${idleAfter.handles}, processes ${idleBefore.processes} → ${idleAfter.processes}, heap ${idleBefore.heap.toFixed(1)} → ${idleAfter.heap.toFixed(1)} MiB, tree RSS ${idleBefore.treeRss.toFixed(0)} → ${idleAfter.treeRss.toFixed(0)} MiB`);
await server.stop();
// Something the client side loads keeps the loop alive after everything is closed (as in bench/run.mjs): exit explicitly.
process.exit(0);
