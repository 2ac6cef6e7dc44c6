#!/usr/bin/env node
// whisper-cpp provider benchmark: RTF and inference p50/p95 per chunk size, single stream and 2 parallel
// streams, against a yardstick (pywhispercpp's prebuilt whisper.cpp) on the same ggml weights and the same
// chunks; RSS added by a loaded model; optionally the portable vs native (SIMD) build of the addon.
//
// Needs the built packages (npx tsc -b packages/provider-whisper-cpp). Run from the repo root:
//   node packages/provider-whisper-cpp/bench/rtf.mjs [options]
//     --audio <wav>         16 kHz mono s16 WAV (default: core's synthesized SPEECH_SENTENCES, ~15 s)
//     --model <ggml>        default: the bundled tiny.en converted into the model store (ensureBundledGgml)
//     --chunks 1,2,4,8      chunk sizes in seconds
//     --rounds 2            interleaved rounds (the machine is shared: ratios are taken within a round)
//     --beam 5 --threads N  decoding settings for every engine (default: provider defaults)
//     --yardstick-python <python with pywhispercpp>  (default ECHOPANEL_YARDSTICK_PYTHON or /tmp/venv-pwcpp/bin/python)
//     --compare-builds      also time the portable and native addon builds (builds them if needed, ~20 s each)
//     --reference <txt>     transcript for a WER line (default: the audio's .txt sibling when it exists)
//     --json <file>         write all numbers as JSON too
// Numbers are printed, never asserted.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const core = await import(path.join(repo, 'packages/core/dist/index.js'));
const testing = await import(path.join(repo, 'packages/plugin-testkit/dist/index.js'));
const plugin = await import(path.join(repo, 'packages/provider-whisper-cpp/dist/index.js'));

const args = parseArgs(process.argv.slice(2));
const chunks = (args.chunks ?? '1,2,4,8').split(',').map(Number);
const rounds = Number(args.rounds ?? 2);
const cores = os.availableParallelism();
const threads = Number(args.threads ?? plugin.defaultThreads('cpu', cores));
const beam = Number(args.beam ?? plugin.whisperCppConfigSchema.parse({}).beamSize);
const python =
  args['yardstick-python'] ??
  process.env.ECHOPANEL_YARDSTICK_PYTHON ??
  (existsSync('/tmp/venv-pwcpp/bin/python') ? '/tmp/venv-pwcpp/bin/python' : 'python3');
const pythonPath = core.findProjectPython(repo);

const modelPath = args.model ?? (await core.ensureBundledGgml({ pythonPath })).path;
const wav = args.audio ?? synthesizedAudio();
const audio = core.decodeWav(readFileSync(wav));
if (audio.sampleRate !== 16000) throw new Error(`${wav}: need 16 kHz audio, got ${audio.sampleRate}`);
const audioSeconds = audio.samples.length / 16000;
const hasYardstick = yardstickAvailable();

log(`model ${modelPath}`);
log(`audio ${wav} (${audioSeconds.toFixed(1)} s), threads ${threads}, beam ${beam}, ${cores} cores, rounds ${rounds}`);
log(`addon build: ${JSON.stringify(plugin.nativeBuildInfo())}`);
log(`yardstick: ${hasYardstick ? `pywhispercpp (${python})` : 'not available (pip install pywhispercpp into a venv, pass --yardstick-python)'}`);

const results = { model: modelPath, audio: wav, audioSeconds, threads, beam, cores, build: plugin.nativeBuildInfo(), rows: [], memory: undefined, builds: undefined };

results.memory = await measureMemory();
log(`memory: RSS +${mb(results.memory.loadDelta)} MB on load (${mb(results.memory.rssBeforeLoad)} → ${mb(results.memory.rssAfterLoad)} MB), ` +
  `after 3 load/infer/unload cycles ${mb(results.memory.rssAfterUnload)} MB ` +
  `(${f((results.memory.rssAfterUnload / results.memory.rssBeforeLoad - 1) * 100)}%); peak during one inference +${mb(results.memory.inferencePeakDelta)} MB`);

for (let round = 1; round <= rounds; round++) {
  for (const chunk of chunks) {
    const single = await providerRun(chunk, 1);
    const parallel = await providerRun(chunk, 2);
    // The yardstick at its better thread count for one stream (its OpenMP team at 2 threads degrades badly on a
    // busy 2-core machine), so the ratio is against its best, not its worst.
    const ySingle = hasYardstick ? await bestOf(() => yardstickRun(chunk, 1), threads > 1 ? () => yardstickRun(chunk, 1, 1) : undefined) : undefined;
    const yParallel = hasYardstick ? await yardstickRun(chunk, 2) : undefined;
    const row = { round, chunk, single, parallel, ySingle, yParallel };
    results.rows.push(row);
    log(
      `round ${round} chunk ${chunk}s | provider 1×: RTF ${f(single.rtf)} p50 ${f0(single.p50)} p95 ${f0(single.p95)} ms` +
        ` | 2×: RTF ${f(parallel.rtf)} p50 ${f0(parallel.p50)} p95 ${f0(parallel.p95)} wall-RTF ${f(parallel.wallRtf)}` +
        (ySingle ? ` | yardstick 1× (best of ${threads} and 1 threads: ${ySingle.threads}): RTF ${f(ySingle.rtf)} p50 ${f0(ySingle.p50)} | 2×: wall-RTF ${f(yParallel.wallRtf)} | ratio 1× ${f(single.rtf / ySingle.rtf)} 2× ${f(parallel.wallRtf / yParallel.wallRtf)}` : ''),
    );
  }
}

if (args['compare-builds']) results.builds = await compareBuilds();

summary();
if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2));

// ---------------------------------------------------------------------------------------------------------

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i].replace(/^--/, '');
    if (a === 'compare-builds') out[a] = true;
    else out[a] = argv[++i];
  }
  return out;
}

function synthesizedAudio() {
  const parts = testing.SPEECH_SENTENCES.map((t, i) => testing.synthesizeSpeech(t, { voice: i % 2 ? 'en-gb' : 'en-us', padSeconds: 0.2 }).samples);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whisper-cpp-bench-'));
  const file = path.join(dir, 'sentences.wav');
  writeFileSync(file, core.encodeWav(testing.concatPcm(...parts), 16000));
  return file;
}

function context() {
  return {
    logger: core.silentLogger,
    configDir: repo,
    pythonPath,
    models: core.createModelResolver({ pythonPath }),
    clock: core.systemClock,
    env: process.env,
  };
}

function makeProvider(chunk, maxParallel) {
  const config = plugin.whisperCppConfigSchema.parse({ model: modelPath, chunkSeconds: chunk, maxParallel, threads, beamSize: beam });
  // RTF and latency as the host measures them around the provider (it reports only what the host cannot see).
  return core.measureProvider(new plugin.WhisperCppProvider(config, context()));
}

async function* frames(pcm) {
  for (let i = 0; i < pcm.length; i += 1600) yield pcm.subarray(i, Math.min(pcm.length, i + 1600));
}

async function drain(provider) {
  const texts = [];
  for await (const s of provider.transcribe(frames(audio.samples), { sampleRate: 16000 })) texts.push(s.text);
  return texts.join(' ');
}

/** One provider over the audio at `chunk` seconds, `streams` streams at once. RTF = inference time / audio. */
async function providerRun(chunk, streams) {
  const provider = makeProvider(chunk, streams);
  await provider.load();
  const t0 = performance.now();
  const texts = await Promise.all(Array.from({ length: streams }, () => drain(provider)));
  const wall = (performance.now() - t0) / 1000;
  const h = provider.health();
  await provider.unload();
  return { rtf: h.rtf, p50: h.p50InferMs, p95: h.p95InferMs, inferences: h.inferences, wallRtf: wall / (audioSeconds * streams), text: texts[0] };
}

function yardstickAvailable() {
  try {
    execFileSync(python, ['-c', 'import pywhispercpp'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function runChild(cmd, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

/** The yardstick on the same chunks; 2 parallel streams are 2 processes with the threads split between them. */
async function yardstickRun(chunk, streams, forceThreads) {
  const perStream = forceThreads ?? Math.max(1, Math.floor(threads / streams));
  const t0 = performance.now();
  const outs = await Promise.all(
    Array.from({ length: streams }, () => runChild(python, [path.join(here, 'yardstick.py'), modelPath, wav, String(chunk), String(perStream), String(beam)])),
  );
  const wall = (performance.now() - t0) / 1000;
  const all = outs.flatMap((o) => o.inferMs);
  const audioSum = outs.reduce((n, o) => n + o.audioSeconds, 0);
  // Wall time includes the processes' model load (~0.1 s); the provider's wall time excludes its load.
  return { rtf: sum(all) / 1000 / audioSum, p50: pct(all, 50), p95: pct(all, 95), wallRtf: wall / (audioSeconds * streams), threads: perStream, text: outs[0].text };
}

/** The run with the lower RTF (runs are sequential: the second starts after the first ends). */
async function bestOf(firstThunk, secondThunk) {
  const a = await firstThunk();
  if (!secondThunk) return a;
  const b = await secondThunk();
  return b.rtf < a.rtf ? b : a;
}

async function measureMemory() {
  const provider = makeProvider(4, 1);
  const speech = audio.samples.subarray(0, 16000 * 4);
  // A warm cycle first (with an inference): allocator arenas and the addon's one-time state settle.
  await provider.load();
  await provider.decode(speech, { sampleRate: 16000 });
  await provider.unload();
  const rssBeforeLoad = process.memoryUsage.rss();
  const cycles = [];
  let peakDelta = 0;
  for (let i = 0; i < 3; i++) {
    const before = process.memoryUsage.rss();
    await provider.load();
    const loaded = process.memoryUsage.rss();
    let peak = loaded;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
    await provider.decode(speech, { sampleRate: 16000 });
    clearInterval(timer);
    peakDelta = Math.max(peakDelta, peak - loaded);
    await provider.unload();
    cycles.push({ before, loaded, unloaded: process.memoryUsage.rss() });
  }
  const rssAfterLoad = cycles[0].loaded;
  const rssAfterUnload = cycles.at(-1).unloaded;
  return { rssBeforeLoad, rssAfterLoad, loadDelta: rssAfterLoad - rssBeforeLoad, inferencePeakDelta: peakDelta, rssAfterUnload, cycles };
}

/** Portable vs native addon builds of the same sources, through the raw binding in child processes. */
async function compareBuilds() {
  const keep = path.join(repo, 'node_modules', '.cache', 'echopanel-smart-whisper-builds');
  const script = path.join(repo, 'scripts', 'build-smart-whisper.mjs');
  const variants = ['portable', 'native'];
  let rebuilt = false;
  for (const v of variants) {
    if (!existsSync(path.join(keep, v, 'smart-whisper.node'))) {
      log(`building the ${v} addon for the comparison...`);
      execFileSync(process.execPath, [script, '--variant', v, '--force', '--keep', keep], { stdio: 'inherit' });
      rebuilt = true;
    }
  }
  if (rebuilt) execFileSync(process.execPath, [script, '--keep', keep], { stdio: 'inherit' });
  const out = {};
  const chunk = 4;
  for (let round = 1; round <= rounds; round++) {
    for (const v of variants) {
      const addon = path.join(keep, v, 'smart-whisper.node');
      const r = await runChild(process.execPath, [path.join(here, 'addon-rtf.cjs'), addon, modelPath, wav, String(chunk), String(threads), String(beam)]);
      (out[v] ??= []).push(sum(r.inferMs) / 1000 / r.audioSeconds);
    }
    log(`builds round ${round} (chunk ${chunk}s): portable RTF ${f(out.portable.at(-1))}, native RTF ${f(out.native.at(-1))}, speed-up ×${f(out.portable.at(-1) / out.native.at(-1))}`);
  }
  return out;
}

function summary() {
  log('--- summary (median over rounds) ---');
  for (const chunk of chunks) {
    const rows = results.rows.filter((r) => r.chunk === chunk);
    const med = (fn) => median(rows.map(fn));
    let line =
      `chunk ${chunk}s: provider 1× RTF ${f(med((r) => r.single.rtf))} p50 ${f0(med((r) => r.single.p50))} p95 ${f0(med((r) => r.single.p95))} ms;` +
      ` 2× RTF ${f(med((r) => r.parallel.rtf))} p50 ${f0(med((r) => r.parallel.p50))} p95 ${f0(med((r) => r.parallel.p95))} ms wall-RTF ${f(med((r) => r.parallel.wallRtf))}`;
    if (hasYardstick) {
      line +=
        `; yardstick 1× RTF ${f(med((r) => r.ySingle.rtf))} p50 ${f0(med((r) => r.ySingle.p50))} p95 ${f0(med((r) => r.ySingle.p95))} ms, 2× wall-RTF ${f(med((r) => r.yParallel.wallRtf))}` +
        `; provider/yardstick 1× ×${f(med((r) => r.single.rtf / r.ySingle.rtf))}, 2× ×${f(med((r) => r.parallel.wallRtf / r.yParallel.wallRtf))}`;
    }
    log(line);
  }
  if (results.builds) {
    const p = median(results.builds.portable);
    const n = median(results.builds.native);
    log(`builds (chunk 4 s): portable RTF ${f(p)}, native RTF ${f(n)}, native is ×${f(p / n)} faster`);
  }
  const last = results.rows.at(-1);
  const refFile = args.reference ?? wav.replace(/\.wav$/i, '.txt');
  if (last && existsSync(refFile)) {
    const ref = readFileSync(refFile, 'utf8').trim();
    const ours = core.wordErrorRate(ref, last.single.text);
    log(`WER vs ${refFile} (chunk ${last.chunk}s): provider ${f(ours.wer)}` + (last.ySingle ? `, yardstick ${f(core.wordErrorRate(ref, last.ySingle.text).wer)}` : ''));
  }
  if (last) {
    log(`provider text (chunk ${last.chunk}s): ${last.single.text}`);
    if (last.ySingle) log(`yardstick text (chunk ${last.chunk}s): ${last.ySingle.text}`);
  }
}

function sum(a) {
  return a.reduce((x, y) => x + y, 0);
}
function pct(a, p) {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : 0;
}
function median(a) {
  return pct(a, 50);
}
function f(x) {
  return Number.isFinite(x) ? x.toFixed(3) : 'n/a';
}
function f0(x) {
  return Number.isFinite(x) ? x.toFixed(0) : 'n/a';
}
function mb(x) {
  return (x / 1e6).toFixed(0);
}
function log(msg) {
  process.stdout.write(`[whisper-cpp bench] ${msg}\n`);
}
