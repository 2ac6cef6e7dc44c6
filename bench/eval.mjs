#!/usr/bin/env node
// `npm run eval`: word error rate of each provider on a directory of WAV + reference .txt pairs: `floor` (the
// engine called directly on the file with its own long-form decoding, as a user could call it), `file` (POST
// /v1/audio/transcriptions to a server), `offline` (one provider.decode of the whole file) and through the
// streaming server over a WebSocket with `fixed` and `vad` segmentation. Normalization: core's normalizeTranscript (case, punctuation, numbers spelled out).
// Prints Markdown (per file and totals with substitutions / deletions / insertions) and writes
// bench/results/eval.json. Without a directory, the generated set (bench/eval-set.json) is used, generated into
// a cache directory when missing.
//
//   node bench/eval.mjs [DIR] [--providers faster-whisper,whisper-cpp] [--modes floor,file,offline,fixed,vad]
//                       [--pace fast|realtime|N] [--beam 5] [--vad-options JSON] [--out bench/results]
// --vad-options is the VAD plugin's config slice, e.g. '{"refineBoundaries":false}'.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRuntime, findProjectPython } from '@echopanel/core';
import { wordErrorRate } from '@echopanel/plugin-testkit';
import { generateEvalSet } from '../scripts/generate-eval-set.mjs';
import { startFasterWhisperFileFloor, startWhisperCppFileFloor } from './lib/engine-floors.mjs';
import { benchConfig, benchDir, repoRoot, startBenchServer, writeConfig } from './lib/server-process.mjs';
import { loadSpeechDir } from './lib/speech-dir.mjs';
import { fmt, markdownTable, roundDeep } from './lib/stats.mjs';
import { streamPcm } from './lib/ws-stream.mjs';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    providers: { type: 'string', default: 'faster-whisper,whisper-cpp' },
    modes: { type: 'string', default: 'floor,file,vad' },
    'asr-options': { type: 'string' },
    pace: { type: 'string', default: 'fast' },
    beam: { type: 'string', default: '5' },
    'vad-options': { type: 'string' },
    out: { type: 'string', default: path.join(benchDir, 'results') },
  },
});
const log = (m) => process.stderr.write(`[eval ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const providers = args.providers.split(',').map((s) => s.trim());
const modes = args.modes.split(',').map((s) => s.trim());
const MODES = ['floor', 'file', 'offline', 'fixed', 'vad'];
for (const m of modes) if (!MODES.includes(m)) throw new Error(`--modes: unknown mode '${m}' (${MODES.join(', ')})`);
const beam = Number(args.beam);
const vadOptions = args['vad-options'] ? JSON.parse(args['vad-options']) : undefined;
// --asr-options: extra `asr` config keys for the servers (e.g. '{"endpointSilenceMs":300}').
const asrOptions = args['asr-options'] ? JSON.parse(args['asr-options']) : undefined;
const pace = args.pace === 'fast' || args.pace === 'realtime' ? args.pace : Number(args.pace);

const dir = positionals[0] ? path.resolve(positionals[0]) : generateEvalSet({ log });
const files = await loadSpeechDir(dir);
log(`${files.length} files from ${dir}`);

async function offline(name) {
  const runtime = await createRuntime({ configFile: writeConfig(benchConfig({ provider: name, beam })), cwd: repoRoot });
  try {
    const provider = await runtime.providers.create(name);
    await provider.load();
    if (typeof provider.decode !== 'function') throw new Error(`${name} has no decode()`);
    const out = {};
    for (const f of files) {
      const t0 = performance.now();
      const segs = await provider.decode(f.pcm, { sampleRate: 16000, language: 'en' });
      out[f.id] = { text: segs.map((s) => s.text).join(' '), ms: performance.now() - t0 };
    }
    return out;
  } finally {
    await runtime.dispose();
  }
}

async function streamed(name, segmentation) {
  const server = await startBenchServer(benchConfig({ provider: name, segmentation, beam, vadOptions, asrOptions }));
  try {
    const out = {};
    for (const f of files) {
      const run = await streamPcm({ wsUrl: server.wsUrl, pcm: f.pcm, frameMs: 100, pace });
      if (run.errors.length) log(`${name}/${segmentation} ${f.id}: ${JSON.stringify(run.errors)}`);
      const finals = run.events.filter((e) => e.type === 'final').sort((a, b) => a.start - b.start);
      out[f.id] = { text: finals.map((e) => e.text).join(' '), ms: run.doneAt - run.startedAt, dropped: run.done?.stats?.dropped_samples ?? null, errors: run.errors.map((e) => e.code) };
    }
    return out;
  } finally {
    await server.stop();
  }
}

/** The engine on its own: faster-whisper's `transcribe(file)`, whisper.cpp's `whisper_full` over the file. */
async function floor(name) {
  const runtime = await createRuntime({ configFile: writeConfig(benchConfig({ provider: name, beam })), cwd: repoRoot });
  try {
    if (name === 'faster-whisper') {
      const model = await runtime.models.resolve('tiny.en', 'ct2');
      const fw = await startFasterWhisperFileFloor({ python: findProjectPython(repoRoot), modelPath: model.path, beam });
      try {
        const out = {};
        for (const f of files) out[f.id] = await fw.run(f.file);
        return out;
      } finally {
        fw.stop();
      }
    }
    if (name === 'whisper-cpp') {
      const model = await runtime.models.resolve('tiny.en', 'ggml');
      const cpp = await startWhisperCppFileFloor({ ggmlPath: model.path, beam });
      try {
        const out = {};
        for (const f of files) out[f.id] = await cpp.run(f.pcm);
        return out;
      } finally {
        await cpp.stop();
      }
    }
    throw new Error(`no engine floor for ${name}`);
  } finally {
    await runtime.dispose();
  }
}

/** POST /v1/audio/transcriptions, one file at a time. */
async function uploaded(name) {
  const server = await startBenchServer(benchConfig({ provider: name, segmentation: 'vad', beam, vadOptions, asrOptions }));
  try {
    const out = {};
    for (const f of files) {
      const form = new FormData();
      form.append('file', new Blob([readFileSync(f.file)], { type: 'audio/wav' }), path.basename(f.file));
      form.append('response_format', 'json');
      const t0 = performance.now();
      const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
      const body = await res.json();
      if (!res.ok) log(`${name}/file ${f.id}: ${res.status} ${JSON.stringify(body)}`);
      out[f.id] = { text: body.text ?? '', ms: performance.now() - t0, dropped: Number(res.headers.get('x-echopanel-dropped-samples') ?? 0) };
    }
    return out;
  } finally {
    await server.stop();
  }
}

const columns = [];
for (const name of providers) {
  for (const mode of modes) {
    log(`${name} ${mode}`);
    try {
      const hyps = mode === 'floor' ? await floor(name) : mode === 'file' ? await uploaded(name) : mode === 'offline' ? await offline(name) : await streamed(name, mode);
      const perFile = files.map((f) => ({ id: f.id, reference: f.reference, hypothesis: hyps[f.id].text, ...wordErrorRate(f.reference, hyps[f.id].text), ms: hyps[f.id].ms, dropped: hyps[f.id].dropped ?? 0 }));
      const sum = (k) => perFile.reduce((n, r) => n + r[k], 0);
      const total = { substitutions: sum('substitutions'), deletions: sum('deletions'), insertions: sum('insertions'), referenceWords: sum('referenceWords'), droppedSamples: sum('dropped') };
      total.wer = (total.substitutions + total.deletions + total.insertions) / total.referenceWords;
      columns.push({ provider: name, mode, perFile, total });
    } catch (err) {
      log(`${name} ${mode} failed: ${err?.stack ?? err}`);
      columns.push({ provider: name, mode, error: String(err?.message ?? err) });
    }
  }
}

const ok = columns.filter((c) => !c.error);
const pct = (x) => fmt(x * 100, 1);
const perFileTable = markdownTable(
  ['file', 's', 'words', ...ok.map((c) => `${c.provider} ${c.mode}`)],
  files.map((f, i) => [f.id, f.seconds.toFixed(1), ok[0]?.perFile[i].referenceWords ?? '', ...ok.map((c) => `${pct(c.perFile[i].wer)}%`)]),
);
const totalsTable = markdownTable(
  ['provider', 'mode', 'WER', 'substitutions', 'deletions', 'insertions', 'reference words', 'dropped samples'],
  columns.map((c) => (c.error ? [c.provider, c.mode, 'FAILED', c.error, '', '', '', ''] : [c.provider, c.mode, `${pct(c.total.wer)}%`, c.total.substitutions, c.total.deletions, c.total.insertions, c.total.referenceWords, c.total.droppedSamples])),
);
// Targets: the file path within 0.3 points of the engine floor; streaming (vad) within 1.0 point of the file path.
const column = (p, m) => ok.find((c) => c.provider === p && c.mode === m);
const target = (p, mode, base, maxPoints) => {
  const a = column(p, mode);
  const b = column(p, base);
  if (!a || !b) return `- ${p}: ${mode} vs ${base}: n/a (needs both modes)`;
  const delta = (a.total.wer - b.total.wer) * 100;
  return `- ${p}: ${mode} ${pct(a.total.wer)}% vs ${base} ${pct(b.total.wer)}% → ${delta >= 0 ? '+' : ''}${delta.toFixed(1)} points (target ≤ +${maxPoints}): ${delta <= maxPoints ? 'met' : 'NOT met'}`;
};
const targetLines = providers.flatMap((p) => [target(p, 'file', 'floor', 0.3), target(p, 'vad', 'file', 1.0)]);
const worst = ok.flatMap((c) => c.perFile.filter((r) => r.wer > 0).map((r) => `- ${c.provider} ${c.mode} ${r.id}: "${r.hypothesis}"`));
const md = [
  `## EchoPanel eval — ${new Date().toISOString()}`,
  '',
  `${files.length} files (${files.reduce((n, f) => n + f.seconds, 0).toFixed(1)} s) from ${dir}. floor = the engine alone on the file (its own long-form decoding); file = POST /v1/audio/transcriptions; offline = one \`decode()\` of the whole file; fixed / vad = streamed over a WebSocket to a server on 127.0.0.1 (pace: ${args.pace}, 100 ms frames), finals joined. tiny.en, beam ${beam}, faster-whisper int8. WER after normalization (case, punctuation, numbers).`,
  '',
  '### Totals',
  '',
  totalsTable,
  '',
  '### Targets',
  '',
  ...targetLines,
  '',
  '### Per file (WER)',
  '',
  perFileTable,
  '',
  '### Hypotheses with errors',
  '',
  ...(worst.length ? worst : ['(none)']),
].join('\n');
process.stdout.write(`${md}\n`);
mkdirSync(args.out, { recursive: true });
writeFileSync(path.join(args.out, 'eval.json'), `${JSON.stringify(roundDeep({ dir, beam, pace: args.pace, files: files.map((f) => ({ id: f.id, seconds: f.seconds, reference: f.reference })), targets: targetLines, columns }), null, 2)}\n`);
writeFileSync(path.join(args.out, 'eval.md'), `${md}\n`);
log(`wrote ${path.join(args.out, 'eval.json')} and eval.md`);
// Handles left by the engines (native timers, keep-alive sockets) must not keep a finished benchmark alive.
process.exit(0);
