#!/usr/bin/env node
// Where an utterance's decode goes in whisper.cpp: one decode() as the stream pipeline makes it (the provider's
// params: beam, threads, audio_ctx = audio + encoderWindowSeconds' margin), and the same call stopped after one
// token (≈ mel + encoder + one decoder step: "encoder"); decoder = total − encoder. Per utterance, interleaved
// over rounds; p50/p95 in ms. Numbers are printed, never asserted.
//
// Needs the built packages (npx tsc -b packages/provider-whisper-cpp). Run from the repo root:
//   node packages/provider-whisper-cpp/bench/utterance-split.mjs [--dir DIR] [--max 10] [--rounds 2] [--beam 5] [--threads N]
//     --dir     WAV files (16 kHz mono s16) of single utterances, 1–8 s long are used (default: espeak-ng sentences)
//     --beam    list, e.g. 5,1 to compare beam search and greedy
//     --threads list, e.g. 2,1
//     --addon   a smart-whisper.node to time instead of the installed one (e.g. one kept by build-smart-whisper --keep)

import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const core = await import(path.join(repo, 'packages/core/dist/index.js'));
const testing = await import(path.join(repo, 'packages/plugin-testkit/dist/index.js'));
const plugin = await import(path.join(repo, 'packages/provider-whisper-cpp/dist/index.js'));
const { encoderWindowSeconds } = await import(path.join(repo, 'packages/engine-kit/dist/index.js'));

const args = Object.fromEntries(
  process.argv.slice(2).flatMap((a, i, all) => (a.startsWith('--') ? [[a.slice(2), all[i + 1]]] : [])),
);
const rounds = Number(args.rounds ?? 2);
const beams = (args.beam ?? String(plugin.whisperCppConfigSchema.parse({}).beamSize)).split(',').map(Number);
const threadsList = (args.threads ?? String(plugin.defaultThreads('cpu'))).split(',').map(Number);

const utterances = loadUtterances().slice(0, Number(args.max ?? 10));
const modelPath = (await core.ensureBundledGgml({ pythonPath: core.findProjectPython(repo) })).path;
// The provider's own addon (the one scripts/build-smart-whisper.mjs built), or another build's .node to compare.
const requireHere = createRequire(path.join(repo, 'packages/provider-whisper-cpp/package.json'));
const sw = args.addon ? requireHere(path.resolve(args.addon)) : requireHere('smart-whisper').binding;
const model = await sw.WhisperModel.load(modelPath, false);
const seconds = utterances.map((u) => u.pcm.length / 16000);
console.log(`model ${modelPath}; addon ${args.addon ?? `smart-whisper ${JSON.stringify(plugin.nativeBuildInfo())}`}`);
console.log(`${utterances.length} utterances, ${Math.min(...seconds).toFixed(1)}–${Math.max(...seconds).toFixed(1)} s; ${rounds} rounds; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' / ')}`);

const run = (pcm, params) =>
  new Promise((resolve, reject) =>
    sw.transcribe(model.handle, pcm, params, (r) => (Array.isArray(r) ? resolve(r) : reject(r)), () => undefined),
  );
const params = (u, beam, threads, maxTokens) => ({
  strategy: beam > 1 ? 1 : 0,
  ...(beam > 1 ? { beam_size: beam } : {}),
  n_threads: threads,
  language: 'en',
  no_context: true,
  suppress_blank: true,
  suppress_non_speech_tokens: true,
  token_timestamps: false,
  print_progress: false,
  print_realtime: false,
  print_timestamps: false,
  format: 'detail',
  audio_ctx: encoderWindowSeconds(u.pcm.length / 16000) * 50,
  ...(maxTokens ? { max_tokens: maxTokens } : {}),
});

await run(utterances[0].pcm, params(utterances[0], 1, threadsList[0], 1));
const rows = [];
for (const beam of beams) for (const threads of threadsList) rows.push({ beam, threads, total: [], encoder: [], words: [] });
for (let r = 0; r < rounds; r++) {
  for (const u of utterances) {
    for (const row of rows) {
      let t0 = performance.now();
      const segs = await run(u.pcm, params(u, row.beam, row.threads));
      row.total.push(performance.now() - t0);
      t0 = performance.now();
      await run(u.pcm, params(u, row.beam, row.threads, 1));
      row.encoder.push(performance.now() - t0);
      if (r === 0) row.words.push({ ref: u.text, hyp: segs.map((s) => s.text).join(' ') });
    }
  }
}
await model.free();

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
console.log('\n| beam | threads | decode p50 / p95 ms | encoder p50 / p95 ms | decoder p50 ms | WER (references given) |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const row of rows) {
  const dec = row.total.map((t, i) => t - row.encoder[i]);
  const withRef = row.words.filter((w) => w.ref);
  const wer = withRef.length ? `${(testing.wordErrorRate(withRef.map((w) => w.ref).join(' '), withRef.map((w) => w.hyp).join(' ')).wer * 100).toFixed(1)} %` : '—';
  console.log(`| ${row.beam} | ${row.threads} | ${q(row.total, 0.5).toFixed(0)} / ${q(row.total, 0.95).toFixed(0)} | ${q(row.encoder, 0.5).toFixed(0)} / ${q(row.encoder, 0.95).toFixed(0)} | ${q(dec, 0.5).toFixed(0)} | ${wer} |`);
}

function loadUtterances() {
  const toFloat = (samples) => core.int16ToFloat32(samples, new Float32Array(Math.max(samples.length, 16_800)));
  if (!args.dir) {
    return testing.SPEECH_SENTENCES.map((text, i) => {
      const { samples } = testing.synthesizeSpeech(text, { voice: i % 2 ? 'en-gb' : 'en-us', padSeconds: 0.2 });
      return { pcm: toFloat(samples), text };
    });
  }
  return readdirSync(args.dir)
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .flatMap((f) => {
      const wav = core.decodeWav(readFileSync(path.join(args.dir, f)));
      const s = wav.samples.length / 16000;
      if (wav.sampleRate !== 16000 || s < 1 || s > 8) return [];
      let text = '';
      try {
        text = readFileSync(path.join(args.dir, f.replace(/\.wav$/, '.txt')), 'utf8').trim();
      } catch {
        // no transcript: timed, not scored
      }
      return [{ pcm: toFloat(wav.samples), text }];
    });
}
