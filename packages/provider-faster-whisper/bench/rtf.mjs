#!/usr/bin/env node
// Benchmark (not a test): RTF of the faster-whisper provider against faster-whisper called directly in Python
// on the same audio (the engine floor), for int8 / float32 and beam 1 / 5. Runs of the two are interleaved so
// load drift on a shared machine hits both alike; reports median (min–max) per side and the overhead ratio
// provider/direct of the medians (target ≤ 1.10).
// The provider side is `decode()` of the whole recording: queue + IPC (s16 frame out, JSON back) + the same
// transcribe call in the worker + segment mapping.
// "in-worker engine ms" is the same transcribe timed inside the worker: provider − engine = the provider's own
// cost (queue, IPC, conversion, mapping); engine vs direct = the same call in two processes (machine noise).
// Usage: node packages/provider-faster-whisper/bench/rtf.mjs [--wav /path/to/jfk.wav] [--runs 11] [--threads 0]
//        [--model tiny.en] [--python PY]   (without --wav, a synthesized 4-sentence recording is used)
// Needs a build: npx tsc -b packages/provider-faster-whisper
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createModelResolver, findProjectPython } from '@echopanel/core';
import { decodeWav, encodeWav, silentLogger, systemClock } from '@echopanel/plugin-api';
import { concatPcm, SPEECH_SENTENCES, synthesizeSpeech, wordErrorRate } from '@echopanel/plugin-testkit';
import plugin from '../dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    wav: { type: 'string' },
    runs: { type: 'string', default: '11' },
    threads: { type: 'string', default: '0' },
    model: { type: 'string', default: 'tiny.en' },
    python: { type: 'string' },
  },
});
const runs = Math.max(5, Number(args.runs));
const python = args.python ?? process.env.ECHOPANEL_PYTHON ?? findProjectPython(process.cwd());
const models = createModelResolver({ pythonPath: python, allowDownload: false });
const model = await models.resolve(args.model, 'ct2');

let wavPath = args.wav;
if (!wavPath) {
  const pcm = concatPcm(...SPEECH_SENTENCES.map((t) => synthesizeSpeech(t, { padSeconds: 0.3 }).samples));
  wavPath = path.join(path.dirname(synthesizeSpeech(SPEECH_SENTENCES[0]).wavPath), 'bench-fw-4-sentences.wav');
  writeFileSync(wavPath, encodeWav(pcm, 16000));
}
const { samples, sampleRate } = decodeWav(readFileSync(wavPath));
if (sampleRate !== 16000) throw new Error(`${wavPath}: need 16 kHz (got ${sampleRate})`);
const seconds = samples.length / 16000;
// Both sides must see the same samples: core's decodeWav rescales positive 16-bit values (off by one LSB on
// some), so the direct side reads a copy written from exactly what the provider gets.
const inputName = path.basename(wavPath);
wavPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-fw-')), 'input.wav');
writeFileSync(wavPath, encodeWav(samples, 16000));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;

/** The direct-Python floor as a resident process answering "run <beam>". */
async function startDirect(computeType) {
  const child = spawn(python, [path.join(here, 'direct_rtf.py'), model.path, wavPath, computeType, args.threads], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  await lines.next();
  return {
    async run(beam) {
      child.stdin.write(`run ${beam}\n`);
      return JSON.parse((await lines.next()).value);
    },
    stop: () => child.stdin.end(),
  };
}

console.log(`faster-whisper provider vs direct Python, ${inputName} (${seconds.toFixed(2)} s), model ${args.model} (${model.path})`);
console.log(`python ${python}, cpuThreads ${args.threads}, ${runs} runs each after 1 warm-up, times in ms: median (min–max)\n`);
console.log('compute  beam | direct ms          RTF    | provider ms        RTF    | vs direct (medians, paired) | in-worker engine ms | own overhead | WER prov vs direct');
const rows = [];
for (const computeType of ['int8', 'float32']) {
  const direct = await startDirect(computeType);
  const ctx = { logger: silentLogger, configDir: process.cwd(), pythonPath: python, models, clock: systemClock, env: process.env };
  const provider = await plugin.create(
    plugin.configSchema.parse({ model: args.model, device: 'cpu', computeType, cpuThreads: Number(args.threads), inferenceTimeoutMs: 600000 }),
    ctx,
  );
  await provider.load();
  for (const beam of [1, 5]) {
    await provider.tune({ beamSize: beam });
    await direct.run(beam);
    await provider.decode(samples, { sampleRate: 16000 });
    const d = [];
    const p = [];
    const e = [];
    let directText = '';
    let providerText = '';
    for (let i = 0; i < runs; i++) {
      // Alternate which side goes first so neither always runs right after the other's cache warm-up.
      const order = i % 2 === 0 ? ['d', 'p'] : ['p', 'd'];
      for (const side of order) {
        if (side === 'd') {
          const r = await direct.run(beam);
          d.push(r.ms);
          directText = r.text;
        } else {
          const t0 = performance.now();
          const segs = await provider.decode(samples, { sampleRate: 16000 });
          p.push(performance.now() - t0);
          e.push(provider.health().extra.engineLastInferMs);
          providerText = segs.map((s) => s.text).join(' ');
        }
      }
    }
    const ratio = median(p) / median(d);
    // Each provider run next to the direct run of the same round: drift in machine load cancels within a pair.
    const paired = median(p.map((x, i) => x / d[i]));
    // Per run, end to end over the same request's engine time: queue + IPC + conversion + mapping, no noise
    // from comparing two processes.
    const own = median(p.map((x, i) => x / e[i]));
    const agreement = wordErrorRate(directText, providerText).wer;
    rows.push({ computeType, beam, ratio, paired, own });
    // The provider's text can differ where core's hallucination guard dropped a segment; show it.
    const diff = agreement > 0 ? `\n           direct:   ${directText}\n           provider: ${providerText}` : '';
    console.log(
      `${computeType.padEnd(8)} ${String(beam).padStart(4)} | ${fmt(d).padEnd(18)} ${(median(d) / 1000 / seconds).toFixed(3)}  | ${fmt(p).padEnd(18)} ${(median(p) / 1000 / seconds).toFixed(3)}  | ${ratio.toFixed(3)}, ${paired.toFixed(3)}                | ${fmt(e).padEnd(19)} | ${own.toFixed(4)}       | ${(agreement * 100).toFixed(1)}%${diff}`,
    );
  }
  const h = provider.health();
  console.log(`         worker pid ${h.workerPid}, worker RSS ${(h.memory.workerRssBytes / 2 ** 20).toFixed(0)} MiB, worker load ${h.extra.workerLoadMs} ms`);
  await provider.unload();
  direct.stop();
}
rmSync(path.dirname(wavPath), { recursive: true, force: true });
const worst = Math.max(...rows.map((r) => r.ratio));
const worstPaired = Math.max(...rows.map((r) => r.paired));
const worstOwn = Math.max(...rows.map((r) => r.own));
console.log(`\nprovider vs direct, worst ratio of medians: ${worst.toFixed(3)} (target ≤ 1.10): ${worst <= 1.1 ? 'met' : 'NOT met'}`);
console.log(`provider vs direct, worst median of paired ratios: ${worstPaired.toFixed(3)} (target ≤ 1.10): ${worstPaired <= 1.1 ? 'met' : 'NOT met'}`);
console.log(`provider's own overhead (end to end / in-worker engine), worst median: ${worstOwn.toFixed(4)}`);
