#!/usr/bin/env node
// Benchmark (not a test): B utterances through one `decodeBatch` call vs `decode` one by one, per CTranslate2
// thread setting. Wall ms of the B decodes (median of --runs, min–max), per utterance, and the worker's CPU ms
// per utterance (utime + stime of the worker process, /proc/<pid>/stat) — on a shared 2-core box the CPU a
// setting burns matters as much as its wall time. Two sets of utterances: "same" (all padded with silence to
// 4.5 s: one encoder window, the best case for batching) and "mixed" (their natural 2–7 s: the worker groups
// items by encoder window, so a batch splits into several engine calls). Words batched vs one by one are compared
// (differences are printed; 0 expected).
// Usage: node packages/provider-faster-whisper/bench/batch.mjs [--threads 1,2] [--sizes 1,2,4,8] [--runs 5]
//        [--beam 5] [--sets same,mixed] [--env OMP_WAIT_POLICY=PASSIVE] [--python PY]
// Run under the shared lock: flock /tmp/echopanel-bench.lock node packages/provider-faster-whisper/bench/batch.mjs
// Needs a build: npx tsc -b packages/provider-faster-whisper
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createModelResolver, findProjectPython } from '@echopanel/core';
import { silentLogger, systemClock } from '@echopanel/plugin-api';
import { concatPcm, silence, SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import plugin from '../dist/index.js';

const { values: args } = parseArgs({
  options: {
    threads: { type: 'string', default: '1,2' },
    sizes: { type: 'string', default: '1,2,4,8' },
    runs: { type: 'string', default: '5' },
    beam: { type: 'string', default: '5' },
    sets: { type: 'string', default: 'same,mixed' },
    env: { type: 'string', multiple: true, default: [] },
    python: { type: 'string' },
  },
});
const list = (s) => s.split(',').filter(Boolean);
const runs = Math.max(3, Number(args.runs));
const sizes = list(args.sizes).map(Number);
const python = args.python ?? process.env.ECHOPANEL_PYTHON ?? findProjectPython(process.cwd());
const models = createModelResolver({ pythonPath: python, allowDownload: false });
const extraEnv = Object.fromEntries(args.env.map((kv) => kv.split('=', 2)));

const VOICES = [
  [SPEECH_SENTENCES[0], 'en-us', 150],
  [SPEECH_SENTENCES[1], 'en-gb', 170],
  [SPEECH_SENTENCES[2], 'en-us+f3', 160],
  [SPEECH_SENTENCES[3], 'en-us+m3', 165],
  ['Good morning, everyone, and welcome back.', 'en-gb+f2', 150],
  ['The meeting has been moved to Thursday afternoon, so please tell the team.', 'en-us', 175],
  ['Can you hear me now, or should I call again later?', 'en-us+f4', 160],
  ['Seven hundred people attended the conference in Berlin last year.', 'en-gb', 160],
];
const natural = VOICES.map(([text, voice, wpm]) => synthesizeSpeech(text, { voice, wpm, padSeconds: 0.3 }).samples);
const SAME_SECONDS = 4.5;
const same = natural.map((pcm) => {
  const cut = pcm.subarray(0, Math.min(pcm.length, SAME_SECONDS * 16000));
  return concatPcm(cut, silence(SAME_SECONDS - cut.length / 16000));
});
const sets = { same, mixed: natural };

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, clock ticks of 10 ms
};
const words = (segs) => segs.map((s) => s.text).join(' ');

console.log(`python ${python}, tiny.en int8, beam ${args.beam}, ${runs} runs each (after a warm-up), env ${JSON.stringify(extraEnv)}`);
console.log('wall ms: median (min–max) of the B decodes; per utt: median wall / B; cpu/utt: worker CPU ms per utterance (median)\n');
console.log('threads set   B | one by one ms      per utt  cpu/utt | batch ms           per utt  cpu/utt | speedup | shared | word diffs');
console.log('------- ----- - | ------------------ -------  ------- | ------------------ -------  ------- | ------- | ------ | ----------');
for (const threads of list(args.threads).map(Number)) {
  const ctx = { logger: silentLogger, configDir: process.cwd(), pythonPath: python, models, clock: systemClock, env: { ...process.env, ...extraEnv } };
  const provider = await plugin.create(
    // One request at a time (no parallel replicas): a batch against the same utterances one after another.
    plugin.configSchema.parse({ device: 'cpu', computeType: 'int8', cpuThreads: threads, parallelDecodes: 1, beamSize: Number(args.beam), inferenceTimeoutMs: 600000 }),
    ctx,
  );
  await provider.load();
  const pid = provider.health().workerPid;
  const opts = { sampleRate: 16000 };
  await provider.decodeBatch(natural.slice(0, 2).map((pcm) => ({ pcm, opts })));
  for (const setName of list(args.sets)) {
    for (const b of sizes) {
      const items = sets[setName].slice(0, b).map((pcm) => ({ pcm, opts }));
      const one = [];
      const oneCpu = [];
      const bat = [];
      const batCpu = [];
      let shared = 0;
      let diffs = 0;
      for (let r = 0; r < runs; r++) {
        // Interleaved, so load drift on the shared machine hits both sides alike.
        let cpu = cpuMs(pid);
        let t = performance.now();
        const alone = [];
        for (const item of items) alone.push(await provider.decode(item.pcm, item.opts));
        one.push(performance.now() - t);
        oneCpu.push((cpuMs(pid) - cpu) / b);
        const before = Number(provider.health().extra.batchItemsShared);
        cpu = cpuMs(pid);
        t = performance.now();
        const batched = await provider.decodeBatch(items);
        bat.push(performance.now() - t);
        batCpu.push((cpuMs(pid) - cpu) / b);
        shared = Number(provider.health().extra.batchItemsShared) - before;
        diffs += batched.filter((segs, i) => words(segs) !== words(alone[i])).length;
      }
      console.log(
        `${String(threads).padStart(7)} ${setName.padEnd(5)} ${b} | ${fmt(one).padEnd(18)} ${(median(one) / b).toFixed(0).padStart(7)}  ${median(oneCpu).toFixed(0).padStart(7)} | ${fmt(bat).padEnd(18)} ${(median(bat) / b).toFixed(0).padStart(7)}  ${median(batCpu).toFixed(0).padStart(7)} | ${(median(one) / median(bat)).toFixed(2).padStart(7)} | ${`${shared}/${b}`.padStart(6)} | ${diffs}`,
      );
    }
  }
  await provider.unload();
}
