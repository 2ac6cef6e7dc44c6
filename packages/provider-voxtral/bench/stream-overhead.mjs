#!/usr/bin/env node
// Benchmark of the provider's own overhead around voxtral.c, measured against the test stand-in (the real binary
// and weights are not available here; with them, pass VOXTRAL_BIN / VOXTRAL_MODEL_DIR and the same numbers show
// the real engine). Prints numbers; ratios are within this one run.
//
//   npx tsc -b packages/provider-voxtral && node packages/provider-voxtral/bench/stream-overhead.mjs [seconds]
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger, systemClock } from '@echopanel/plugin-api';
import { VoxtralProvider, voxtralConfigSchema } from '../dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.argv[2] ?? 60);
const binary = process.env.VOXTRAL_BIN ?? path.join(here, '..', 'test-fixtures', 'voxtral-standin.mjs');
let modelDir = process.env.VOXTRAL_MODEL_DIR;
if (!modelDir) {
  modelDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'voxtral-bench-')), 'voxtral-model');
  mkdirSync(modelDir);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(2n);
  writeFileSync(path.join(modelDir, 'consolidated.safetensors'), Buffer.concat([len, Buffer.from('{}')]));
  writeFileSync(path.join(modelDir, 'tekken.json'), '{}');
  writeFileSync(path.join(modelDir, 'params.json'), '{}');
}

// Tone "words" the stand-in recognizes (400 Hz + 100 Hz × index), 0.32 s each with 0.16 s gaps.
function audio(totalSeconds) {
  const rate = 16000;
  const pcm = new Int16Array(Math.round(totalSeconds * rate));
  for (let t = 0.3, i = 0; t + 0.32 < totalSeconds; t += 0.48, i++) {
    const f = 400 + 100 * (i % 8);
    const start = Math.round(t * rate);
    for (let k = 0; k < 0.32 * rate; k++) pcm[start + k] = Math.round(9000 * Math.sin((2 * Math.PI * f * k) / rate));
  }
  return pcm;
}

async function* frames(pcm, n = 1600) {
  for (let i = 0; i < pcm.length; i += n) yield pcm.subarray(i, Math.min(pcm.length, i + n));
}

function ctx() {
  return { logger: silentLogger, configDir: process.cwd(), pythonPath: 'python3', models: {}, clock: systemClock, env: process.env };
}

async function run(provider, pcm) {
  const t0 = performance.now();
  let firstText;
  let finals = 0;
  for await (const s of provider.transcribe(frames(pcm), { sampleRate: 16000 })) {
    firstText ??= performance.now() - t0;
    if (s.isFinal) finals++;
  }
  return { wallMs: performance.now() - t0, firstTextMs: firstText ?? NaN, finals };
}

/** The same bytes piped straight into the binary, no provider: the floor. */
function rawPipe(pcm) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(binary, ['-d', modelDir, '--stdin', '-I', '2', '--silent']);
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', () => resolve(performance.now() - t0));
    child.stdin.end(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  });
}

const pcm = audio(seconds);
const fmt = (v) => v.toFixed(1);

const rawMs = await rawPipe(pcm);
console.log(`audio: ${seconds} s (${(pcm.byteLength / 1024).toFixed(0)} KiB s16le)`);
console.log(`raw pipe into the binary (spawn + load + transcribe): ${fmt(rawMs)} ms`);

for (const keepWarm of [false, true]) {
  const p = new VoxtralProvider(voxtralConfigSchema.parse({ binary, modelDir, maxSpeed: 0, keepWarm }), ctx());
  await p.load();
  const first = await run(p, pcm);
  // Give the spare (keepWarm) time to load, as it would between real streams.
  await new Promise((r) => setTimeout(r, 500));
  const second = await run(p, pcm);
  const h = p.health();
  console.log(
    `provider keepWarm=${keepWarm}: stream1 ${fmt(first.wallMs)} ms, stream2 ${fmt(second.wallMs)} ms ` +
      `(first text after ${fmt(second.firstTextMs)} ms, ${second.finals} finals); ` +
      `stream2/raw = ${(second.wallMs / rawMs).toFixed(2)}; engine rtf ${(h.extra.lastEngineMs / 1000 / h.extra.lastEngineAudioSeconds).toFixed(4)}; ` +
      `last process start ${h.extra.lastProcessStartMs} ms`,
  );
  await p.unload();
}

const paced = new VoxtralProvider(voxtralConfigSchema.parse({ binary, modelDir, maxSpeed: 2 }), ctx());
await paced.load();
const short = audio(Math.min(seconds, 10));
const pr = await run(paced, short);
console.log(`maxSpeed=2 (default) on ${Math.min(seconds, 10)} s: ${fmt(pr.wallMs)} ms = ${((Math.min(seconds, 10) * 1000) / pr.wallMs).toFixed(2)}x real time`);
await paced.unload();
