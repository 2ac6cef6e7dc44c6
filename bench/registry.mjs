#!/usr/bin/env node
// Registry benchmark (not a test): config load, plugin import + registry init for the four first-party packages,
// and the cost of a cached `create` (the registry's get-instance path). Median of N runs with min–max.
// Usage: node bench/registry.mjs [runs=7]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 7);

// Each cold measurement needs a fresh process (module cache), so the probe runs in a child.
const probe = `
import { loadConfig, createRuntime } from '@echopanel/core';
const t0 = performance.now();
await loadConfig({ cwd: ${JSON.stringify(root)} });
const t1 = performance.now();
const rt = await createRuntime({ cwd: ${JSON.stringify(root)} });
const t2 = performance.now();
if (rt.failures.length) throw new Error(rt.failureReport().join('\\n'));
const names = rt.providers.list().map((p) => p.name);
await rt.providers.create(names[0]);
const n = 20000;
const t3 = performance.now();
for (let i = 0; i < n; i++) await rt.providers.create(names[0]);
const t4 = performance.now();
console.log(JSON.stringify({ configMs: t1 - t0, runtimeMs: t2 - t1, plugins: rt.providers.list().length + rt.vads.list().length, cachedCreateUs: ((t4 - t3) * 1000) / n }));
`;

const samples = [];
for (let i = 0; i < runs; i++) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(1);
  }
  samples.push(JSON.parse(r.stdout.trim().split('\n').at(-1)));
}

const stat = (key) => {
  const v = samples.map((s) => s[key]).sort((a, b) => a - b);
  return { median: v[Math.floor(v.length / 2)], min: v[0], max: v[v.length - 1] };
};
const fmt = ({ median, min, max }, unit) => `${median.toFixed(2)} ${unit} (${min.toFixed(2)}–${max.toFixed(2)})`;
console.log(`| measure (median of ${runs}, min–max) | value |`);
console.log('| --- | --- |');
console.log(`| config load (echopanel.config.ts, cold process) | ${fmt(stat('configMs'), 'ms')} |`);
console.log(`| plugin import + registry init (${samples[0].plugins} packages) | ${fmt(stat('runtimeMs'), 'ms')} |`);
console.log(`| cached registry create/get per call | ${fmt(stat('cachedCreateUs'), 'µs')} |`);
