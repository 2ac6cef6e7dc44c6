#!/usr/bin/env node
// `npm run bench`: measures the product against its engines on this machine. Not a test: it prints Markdown
// tables, writes bench/results/bench.json and a chart (bench/results/bench.png, latency and RTF per provider).
//
//   node bench/run.mjs [--only rtf,latency,concurrency,cold-start,memory,vad,registry] [--quick]
//                      [--providers faster-whisper,whisper-cpp] [--runs 5] [--beam 5] [--wav FILE.wav]
//                      [--memory-minutes 1] [--concurrency-streams 1,2,4,6,8,10,12] [--max-streams 12]
//                      [--concurrency-seconds 30] [--speech-dir DIR] [--utterances 4]
//                      [--partials-off-too] [--endpoints 0.3,0.5,0.8] [--vad-options JSON] [--out bench/results]
//
// Every timing is the median of ≥ 5 runs with min–max; ratios are taken within one run of this script (the
// machine is shared and noisy). Needs a build (npx tsc -b apps/server) and the model store (scripts/bootstrap.mjs).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { findProjectPython } from '@echopanel/core';
import { renderChart } from './lib/chart.mjs';
import { benchDir, repoRoot } from './lib/server-process.mjs';
import { roundDeep } from './lib/stats.mjs';
import { coldStartSection } from './sections/cold-start.mjs';
import { concurrencySection } from './sections/concurrency.mjs';
import { latencySection } from './sections/latency.mjs';
import { memorySection } from './sections/memory.mjs';
import { registrySection, vadSection } from './sections/subbenches.mjs';
import { rtfSection } from './sections/rtf.mjs';
import { targetsReport } from './sections/targets.mjs';

const SECTIONS = ['rtf', 'latency', 'concurrency', 'cold-start', 'memory', 'vad', 'registry'];
const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    providers: { type: 'string' },
    runs: { type: 'string', default: '5' },
    beam: { type: 'string', default: '5' },
    wav: { type: 'string' },
    'memory-minutes': { type: 'string' },
    'concurrency-streams': { type: 'string' },
    'max-streams': { type: 'string' },
    'concurrency-seconds': { type: 'string' },
    'speech-dir': { type: 'string' },
    utterances: { type: 'string' },
    'partials-off-too': { type: 'boolean', default: false },
    endpoints: { type: 'string' },
    'vad-options': { type: 'string' },
    out: { type: 'string', default: path.join(benchDir, 'results') },
    python: { type: 'string' },
  },
});
const only = args.only ? args.only.split(',').map((s) => s.trim()) : SECTIONS;
for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`--only: unknown section '${s}' (have ${SECTIONS.join(', ')})`);
const quick = args.quick;
const opts = {
  quick,
  providers: (args.providers ?? 'faster-whisper,whisper-cpp').split(',').map((s) => s.trim()),
  // The sweep costs minutes per provider: the embedded default alone unless --providers says otherwise.
  concurrencyProviders: (args.providers ?? 'faster-whisper').split(',').map((s) => s.trim()),
  runs: Math.max(5, Number(args.runs)),
  beam: Number(args.beam),
  wav: args.wav,
  python: args.python ?? findProjectPython(repoRoot),
  memoryMinutes: Number(args['memory-minutes'] ?? (quick ? 0.25 : 1)),
  // The concurrency sweep's stream counts (--quick: 1, 2, 4), capped by --max-streams.
  concurrencyStreams: (args['concurrency-streams'] ?? (quick ? '1,2,4' : '1,2,4,6,8,10,12'))
    .split(',')
    .map(Number)
    .filter((n) => n <= Number(args['max-streams'] ?? Infinity))
    .sort((a, b) => a - b),
  concurrencySeconds: Number(args['concurrency-seconds'] ?? (quick ? 15 : 30)),
  speechDir: args['speech-dir'] && path.resolve(args['speech-dir']),
  utterances: Number(args.utterances ?? (quick ? 2 : 4)),
  partialsOffToo: args['partials-off-too'],
  endpoints: args.endpoints ? args.endpoints.split(',').map(Number) : undefined,
  vadOptions: args['vad-options'] ? JSON.parse(args['vad-options']) : undefined,
  log: (m) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`),
};
if (opts.concurrencyStreams.length === 0 || opts.concurrencyStreams.some((n) => !Number.isInteger(n) || n < 1)) {
  throw new Error(`--concurrency-streams / --max-streams: need stream counts ≥ 1, got [${opts.concurrencyStreams.join(', ')}]`);
}

const runners = {
  rtf: rtfSection,
  latency: latencySection,
  concurrency: concurrencySection,
  'cold-start': coldStartSection,
  memory: memorySection,
  vad: vadSection,
  registry: registrySection,
};

const started = new Date();
const results = {};
const markdown = [];
const load0 = os.loadavg();
for (const name of SECTIONS.filter((s) => only.includes(s))) {
  const t0 = performance.now();
  try {
    const r = await runners[name](opts);
    results[name] = { ...r.json, seconds: (performance.now() - t0) / 1000 };
    markdown.push(r.md);
  } catch (err) {
    opts.log(`${name} failed: ${err?.stack ?? err}`);
    results[name] = { error: String(err?.message ?? err) };
    markdown.push(`### ${name}\n\nFAILED: ${String(err?.message ?? err)}`);
  }
}

const machine = {
  cpus: os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model,
  memGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  loadavgAtStart: load0,
  loadavgAtEnd: os.loadavg(),
};
const targets = targetsReport(results);
const header = [
  `## EchoPanel bench — ${started.toISOString()}`,
  '',
  `Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memGiB} GiB, Node ${machine.node}; load average at start ${load0.map((x) => x.toFixed(1)).join(' / ')} (shared machine: absolute numbers move with the load, ratios within this run are what to compare).${quick ? ' Mode: --quick.' : ''}`,
].join('\n');
const out = [header, targets.md, ...markdown].join('\n\n');
process.stdout.write(`${out}\n`);

mkdirSync(args.out, { recursive: true });
const json = roundDeep({ startedAt: started.toISOString(), quick, options: { ...opts, log: undefined }, machine, targets: targets.json, results });
writeFileSync(path.join(args.out, 'bench.json'), `${JSON.stringify(json, null, 2)}\n`);
writeFileSync(path.join(args.out, 'bench.md'), `${out}\n`);
const chart = renderChart(results, path.join(args.out, 'bench'));
opts.log(`wrote ${path.join(args.out, 'bench.json')}, bench.md, ${chart}`);
// Handles left by the engines (native timers, keep-alive sockets) must not keep a finished benchmark alive.
process.exit(0);
