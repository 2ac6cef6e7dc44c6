#!/usr/bin/env node
// Audio decoding benchmark (build first: npx tsc -b packages/core). Not a test: prints numbers.
//   node apps/server/bench/audio-decode.mjs [--seconds 60] [--runs 3]
// Prints:
//   1. file decoding (probe + FFmpeg to 16 kHz mono s16 in a temp file + reading it back, as uploads and
//      `echopanel transcribe` do) per container/codec, as × real time (median of runs);
//   2. the per-stream resampler (libsamplerate, as /v1/stream uses it) per input rate and frame size: × real time
//      of one stream on one core, i.e. how many streams one core could convert.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { StreamResampler, decodeAudioFile, encodeWav, resample } from '@echopanel/core';
import {
  AUDIO_FORMATS,
  concatPcm,
  encodeAudioFixture,
  fixtureDir,
  silence,
  SPEECH_SENTENCES,
  synthesizeSpeech,
} from '@echopanel/plugin-testkit';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, runs: { type: 'string', default: '3' } } });
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Speech repeated to the length asked for, at 16 kHz: the source of every format.
const once = concatPcm(...SPEECH_SENTENCES.flatMap((t) => [synthesizeSpeech(t).samples, silence(0.5)]));
const pcm = concatPcm(...Array.from({ length: Math.ceil((seconds * 16000) / once.length) }, () => once)).subarray(0, seconds * 16000);
const wav = path.join(fixtureDir(), `bench-decode-${seconds}s.wav`);
writeFileSync(wav, encodeWav(pcm, 16000));

console.log(`file decoding: ${seconds} s of speech, median of ${runs} runs (probe + decode + temp file)`);
console.log('format'.padEnd(28), 'x real time'.padStart(12), 'ms'.padStart(8));
for (const format of AUDIO_FORMATS) {
  const file = encodeAudioFixture(wav, format);
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const rec = await decodeAudioFile(file);
    await rec.read(0, rec.length);
    times.push(performance.now() - t0);
    await rec.dispose();
  }
  const ms = median(times);
  console.log(format.name.padEnd(28), (seconds / (ms / 1000)).toFixed(0).padStart(12), ms.toFixed(0).padStart(8));
}

console.log(`\nstream resampler (one stream, ${Math.min(seconds, 20)} s of audio pushed frame by frame)`);
console.log('rate'.padEnd(8), ...[1, 128, 1000, 4096].map((f) => `frames ${f}`.padStart(14)));
const streamSeconds = Math.min(seconds, 20);
for (const rate of [8000, 22050, 44100, 48000, 96000]) {
  const input = await resample(pcm.subarray(0, streamSeconds * 16000), 16000, rate);
  const cells = [];
  for (const frame of [1, 128, 1000, 4096]) {
    // One-sample frames cost a call each: a shorter run says the same.
    const n = frame === 1 ? Math.min(input.length, rate * 2) : input.length;
    const t0 = performance.now();
    const r = new StreamResampler(rate, 16000, () => {});
    for (let i = 0; i < n; i += frame) r.push(input.subarray(i, Math.min(n, i + frame)));
    await r.end();
    const ms = performance.now() - t0;
    cells.push(`${(n / rate / (ms / 1000)).toFixed(0)}x`.padStart(14));
  }
  console.log(String(rate).padEnd(8), ...cells);
}
