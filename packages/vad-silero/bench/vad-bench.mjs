#!/usr/bin/env node
// Microseconds per 512-sample window through @echopanel/vad-silero vs a bare onnxruntime-node loop on the same
// model, in the same process, interleaved round by round (so machine noise hits both alike), plus ×realtime per core.
//
//   node bench/vad-bench.mjs [--wav file.wav] [--windows 4000] [--rounds 7]
//
// Audio: the given 16 kHz WAV, else the test sentences synthesized with espeak-ng (speech and pauses).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { decodeWav, resample } from '@echopanel/plugin-api';
import { concatPcm, silence, synthesizeSpeech, SPEECH_SENTENCES } from '@echopanel/plugin-testkit';
import { SileroVadEngine, bundledModelPath } from '../dist/index.js';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const { values: args } = parseArgs({ options: { wav: { type: 'string' }, windows: { type: 'string', default: '4000' }, rounds: { type: 'string', default: '7' } } });
const WINDOWS = Number(args.windows);
const ROUNDS = Number(args.rounds);
const W = 512;
const CTX = 64;

let pcm;
let source;
if (args.wav) {
  const wav = decodeWav(readFileSync(args.wav));
  pcm = await resample(wav.samples, wav.sampleRate, 16000);
  source = args.wav;
} else {
  pcm = concatPcm(...SPEECH_SENTENCES.flatMap((t) => [synthesizeSpeech(t).samples, silence(0.8)]));
  source = 'espeak-ng test sentences with 0.8 s pauses';
}
// Loop the audio to the window count wanted.
const audio = new Int16Array(WINDOWS * W);
for (let i = 0; i < audio.length; i++) audio[i] = pcm[i % pcm.length];
const audioF = Float32Array.from(audio, (v) => v / 32768);

// --- bare onnxruntime-node loop: what anyone would write by hand (buffers reused, state passed through) ---
const session = await ort.InferenceSession.create(readFileSync(bundledModelPath()), {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
});
const input = new Float32Array(CTX + W);
const inputT = new ort.Tensor('float32', input, [1, CTX + W]);
const srT = new ort.Tensor('int64', BigInt64Array.of(16000n), []);
async function bare() {
  let state = new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]);
  input.fill(0);
  let speechy = 0;
  for (let i = 0; i < WINDOWS; i++) {
    input.copyWithin(0, W, W + CTX);
    input.set(audioF.subarray(i * W, i * W + W), CTX);
    const r = await session.run({ input: inputT, state, sr: srT });
    state = r.stateN;
    if (r.output.data[0] >= 0.5) speechy++;
  }
  return speechy;
}

// --- the package: a streaming detector fed 512-sample int16 frames (default options: windows reported) ---
const engine = new SileroVadEngine();
await engine.load();
async function pkg(options = {}) {
  const d = engine.createDetector(options);
  let speechy = 0;
  for (let i = 0; i < WINDOWS; i++) {
    const r = await d.push(audio.subarray(i * W, i * W + W));
    for (const w of r.windows) if (w.probability >= 0.5) speechy++;
  }
  d.flush();
  return speechy;
}
async function pkgLean() {
  // The lean path: no per-window objects, 100 ms frames.
  const d = engine.createDetector({ windows: false });
  for (let i = 0; i < audio.length; i += 1600) await d.push(audio.subarray(i, i + 1600));
  d.flush();
  return 0;
}

async function timed(fn) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const result = await fn();
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { usPerWindow: wallUs / WINDOWS, cpuUsPerWindow: (c.user + c.system) / WINDOWS, result };
}

await bare();
await pkg();
await pkgLean();
const rows = { bare: [], package: [], lean: [] };
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? ['bare', 'package', 'lean'] : ['lean', 'package', 'bare'];
  for (const name of order) rows[name].push(await timed(name === 'bare' ? bare : name === 'package' ? pkg : pkgLean));
}
// The same decisions: the package must see exactly the probabilities of the bare loop.
if (rows.bare[0].result !== rows.package[0].result) throw new Error(`probabilities differ: bare ${rows.bare[0].result} vs package ${rows.package[0].result} windows ≥ 0.5`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const stat = (name) => ({ wall: median(rows[name].map((x) => x.usPerWindow)), cpu: median(rows[name].map((x) => x.cpuUsPerWindow)) });
const b = stat('bare');
const p = stat('package');
const l = stat('lean');
const windowUs = (W / 16000) * 1e6;
console.log(`Silero VAD (${bundledModelPath()}), 1 intra-op thread; audio: ${source}`);
console.log(`${ROUNDS} interleaved rounds × ${WINDOWS} windows of 512 samples (32 ms); medians`);
console.log(`  bare onnxruntime-node loop      ${b.wall.toFixed(1)} µs/window wall, ${b.cpu.toFixed(1)} µs CPU  → ×${(windowUs / b.cpu).toFixed(0)} realtime per core`);
console.log(`  vad-silero detector (512 frames) ${p.wall.toFixed(1)} µs/window wall, ${p.cpu.toFixed(1)} µs CPU  → ×${(windowUs / p.cpu).toFixed(0)} realtime per core`);
console.log(`  vad-silero lean (1600 frames)    ${l.wall.toFixed(1)} µs/window wall, ${l.cpu.toFixed(1)} µs CPU  → ×${(windowUs / l.cpu).toFixed(0)} realtime per core`);
console.log(`  ratio package/bare: ${(p.wall / b.wall).toFixed(3)} wall, ${(p.cpu / b.cpu).toFixed(3)} CPU (target ≤ 1.15); lean/bare ${(l.wall / b.wall).toFixed(3)} wall`);
console.log(`  speech windows (p ≥ 0.5): ${rows.bare[0].result} of ${WINDOWS} in both`);
await session.release();
await engine.unload();
