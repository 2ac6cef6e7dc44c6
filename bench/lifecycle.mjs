#!/usr/bin/env node
// Lifecycle benchmark (not a test): ModelManager load and warmup time per warmup level, memory freed by
// unload, and FailoverProvider failover/recovery latency, on the real faster-whisper (primary) and whisper.cpp
// (fallback) providers. Median of N runs with min–max. Needs a build (npx tsc -b packages/core).
// Usage: node bench/lifecycle.mjs [runs=5]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { concatPcm, silence, synthesizeSpeech, SPEECH_SENTENCES } from '@echopanel/plugin-testkit';
import { FailoverProvider, ModelManager, createRuntime, pcmFrames } from '@echopanel/core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Math.max(3, Number(process.argv[2] ?? 5));
const log = (m) => process.stderr.write(`[lifecycle ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const stat = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
};
const fmt = (v, digits = 0) => {
  const { median, min, max } = stat(v);
  return `${median.toFixed(digits)} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
};
const MiB = 1024 * 1024;

const runtime = await createRuntime({
  cwd: root,
  inline: {
    providers: {
      'faster-whisper': { model: 'tiny.en', beamSize: 1, chunkSeconds: 4, maxRestarts: 0 },
      'whisper-cpp': { model: 'tiny.en', beamSize: 1, chunkSeconds: 4 },
    },
    models: { allowDownload: false },
  },
});
const fw = await runtime.providers.create('faster-whisper');
const cpp = await runtime.providers.create('whisper-cpp');

// 1. Load + warmup per level, and what unload frees.
const rows = [];
for (const level of [1, 2, 3]) {
  const load = [];
  const warm = [];
  const workerRss = [];
  const afterUnload = [];
  for (let i = 0; i < runs; i++) {
    const m = new ModelManager({ provider: fw, warmupLevel: level });
    await m.initialize();
    const h = m.health();
    load.push(h.loadMs);
    warm.push(h.warmupMs);
    workerRss.push(h.memory.workerRssBytes / MiB);
    await m.unload();
    afterUnload.push(m.health().memory.workerRssBytes / MiB);
    log(`level ${level} run ${i + 1}: load ${h.loadMs} ms, warmup ${h.warmupMs} ms`);
  }
  rows.push({ level, load, warm, workerRss, afterUnload });
}
console.log(`## ModelManager on faster-whisper tiny.en (median of ${runs}, min–max)\n`);
console.log('| warmup level | load ms | warmup ms | worker RSS loaded MiB | worker RSS after unload MiB |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.level} | ${fmt(r.load)} | ${fmt(r.warm)} | ${fmt(r.workerRss)} | ${fmt(r.afterUnload)} |`);

// 2. Failover: kill the primary's worker mid-stream (no restarts allowed), time to the first fallback segment.
const pcm = concatPcm(...SPEECH_SENTENCES.slice(1, 4).flatMap((s) => [synthesizeSpeech(s).samples, silence(0.6)]));
const cold = [];
const warmFb = [];
const recover = [];
for (const preload of [false, true]) {
  for (let i = 0; i < runs; i++) {
    const fp = new FailoverProvider({ primary: fw, fallback: cpp, errorsBeforeFailover: 3, preloadFallback: preload });
    if (!preload) await cpp.unload();
    await fp.load();
    const pid = fw.health().workerPid;
    let killedAt;
    let firstFallback;
    let samples = 0;
    for await (const _ of fp.transcribe(pcmFrames(pcm, 1600), {
      sampleRate: 16000,
      onEvent: (e) => {
        if ('samples' in e) samples += e.samples;
        if (killedAt === undefined && e.type === 'transcribed') {
          killedAt = performance.now();
          process.kill(pid, 'SIGKILL');
        }
      },
    })) {
      if (fp.active === 'fallback' && firstFallback === undefined && killedAt !== undefined) firstFallback = performance.now();
    }
    if (samples !== pcm.length) throw new Error(`lost samples: ${samples} of ${pcm.length}`);
    (preload ? warmFb : cold).push(firstFallback - killedAt);
    const t0 = performance.now();
    if (!(await fp.recoverPrimary())) throw new Error('primary did not recover');
    recover.push(performance.now() - t0);
    log(`failover (fallback ${preload ? 'preloaded' : 'cold'}) run ${i + 1}: ${(firstFallback - killedAt).toFixed(0)} ms to the first fallback segment`);
  }
}
console.log(`\n## Failover faster-whisper → whisper.cpp, worker SIGKILLed after the first chunk (4 s chunks, ${(pcm.length / 16000).toFixed(1)} s audio, no sample lost)\n`);
console.log('| measure (median, min–max) | ms |');
console.log('| --- | --- |');
console.log(`| kill → first fallback segment, fallback loaded on demand | ${fmt(cold)} |`);
console.log(`| kill → first fallback segment, fallback preloaded | ${fmt(warmFb)} |`);
console.log(`| recoverPrimary() (probe: availability + load + 1 s decode, then switch) | ${fmt(recover)} |`);
await runtime.dispose();
