#!/usr/bin/env node
// Generates the evaluation set described by bench/eval-set.json: one 16 kHz mono s16 WAV and one reference .txt
// per entry, into a cache directory (the audio is generated, not committed). espeak-ng + sox via core's
// synthesizeSpeech; silences and deterministic white noise (seeded per file) are added here. Idempotent: files
// already present are kept.
//   node scripts/generate-eval-set.mjs [--set bench/eval-set.json] [--out DIR]
// Default DIR: $ECHOPANEL_EVAL_DIR, else <tmp>/echopanel-eval-<hash of the set>.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeWav } from '@echopanel/core';
import { concatPcm, seededRandom, silence, synthesizeSpeech } from '@echopanel/plugin-testkit';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_SET = path.join(root, 'bench', 'eval-set.json');

/** The cache directory for a set file (content-addressed, so editing the set regenerates). */
export function defaultEvalDir(setFile = DEFAULT_SET) {
  if (process.env.ECHOPANEL_EVAL_DIR) return process.env.ECHOPANEL_EVAL_DIR;
  const hash = createHash('sha256').update(readFileSync(setFile)).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `echopanel-eval-${hash}`);
}

function render(entry) {
  const parts = [silence(entry.lead ?? 0)];
  entry.phrases.forEach((phrase, i) => {
    if (i > 0) parts.push(silence(entry.inner ?? 0));
    parts.push(synthesizeSpeech(phrase, { voice: entry.voice, wpm: entry.wpm }).samples);
  });
  parts.push(silence(entry.trail ?? 0));
  const pcm = concatPcm(...parts);
  if (entry.noise > 0) {
    const rand = seededRandom(Number.parseInt(createHash('sha256').update(entry.id).digest('hex').slice(0, 8), 16));
    const amp = entry.noise * 32767;
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(pcm[i] + (rand() * 2 - 1) * amp)));
  }
  return pcm;
}

/** Writes every missing WAV/.txt pair of the set into `outDir`; returns the directory. */
export function generateEvalSet({ setFile = DEFAULT_SET, outDir = defaultEvalDir(setFile), log = () => {} } = {}) {
  const set = JSON.parse(readFileSync(setFile, 'utf8'));
  mkdirSync(outDir, { recursive: true });
  for (const entry of set.files) {
    const wav = path.join(outDir, `${entry.id}.wav`);
    const txt = path.join(outDir, `${entry.id}.txt`);
    if (!existsSync(wav)) {
      log(`generating ${entry.id}`);
      const tmp = `${wav}.${process.pid}.tmp`;
      writeFileSync(tmp, encodeWav(render(entry), 16000));
      renameSync(tmp, wav);
    }
    writeFileSync(txt, `${entry.phrases.join(' ')}\n`);
  }
  return outDir;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { set: { type: 'string' }, out: { type: 'string' } } });
  const setFile = values.set ? path.resolve(values.set) : DEFAULT_SET;
  const dir = generateEvalSet({ setFile, outDir: values.out ?? defaultEvalDir(setFile), log: (m) => process.stderr.write(`${m}\n`) });
  process.stdout.write(`${dir}\n`);
}
