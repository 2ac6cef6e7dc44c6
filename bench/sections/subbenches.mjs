// The packages' own benchmarks, run as they are and summarised: Silero VAD per-window cost vs a bare
// onnxruntime-node loop (packages/vad-silero/bench/vad-bench.mjs) and registry operations (bench/registry.mjs).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { benchDir, repoRoot } from '../lib/server-process.mjs';

function run(script, argv, log) {
  log(`running ${path.relative(repoRoot, script)} ${argv.join(' ')}`);
  const r = spawnSync(process.execPath, [script, ...argv], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`${path.relative(repoRoot, script)} failed (${r.status}): ${r.stderr.slice(-800)}`);
  return r.stdout;
}

export async function vadSection({ quick, runs, log }) {
  const script = path.join(repoRoot, 'packages', 'vad-silero', 'bench', 'vad-bench.mjs');
  const out = run(script, ['--rounds', String(runs), '--windows', quick ? '1500' : '4000'], log);
  const line = (label) => {
    const m = new RegExp(`${label}[^\\n]*?([0-9.]+) µs/window wall, ([0-9.]+) µs CPU`).exec(out);
    return m ? { wallUs: Number(m[1]), cpuUs: Number(m[2]) } : undefined;
  };
  const ratio = /ratio package\/bare: ([0-9.]+) wall, ([0-9.]+) CPU/.exec(out);
  const json = {
    bare: line('bare onnxruntime-node loop'),
    detector: line('vad-silero detector'),
    lean: line('vad-silero lean'),
    ratioWall: ratio ? Number(ratio[1]) : undefined,
    ratioCpu: ratio ? Number(ratio[2]) : undefined,
    output: out,
  };
  const md = `### VAD: Silero per-window cost (packages/vad-silero/bench/vad-bench.mjs)\n\n\`\`\`\n${out.trim()}\n\`\`\``;
  return { md, json };
}

export async function registrySection({ runs, log }) {
  const out = run(path.join(benchDir, 'registry.mjs'), [String(Math.max(runs, 7))], log);
  const rows = [...out.matchAll(/^\| ([^|]+) \| ([0-9.]+) (ms|µs) \(([0-9.]+)–([0-9.]+)\) \|$/gm)].map((m) => ({
    measure: m[1].trim(),
    unit: m[3],
    median: Number(m[2]),
    min: Number(m[4]),
    max: Number(m[5]),
  }));
  return { md: `### Registry operations (bench/registry.mjs)\n\n${out.trim()}`, json: { rows, output: out } };
}
