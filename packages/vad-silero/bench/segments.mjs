#!/usr/bin/env node
// Prints the speech segments (and per-window probabilities with --probs) Silero finds in a WAV file.
//   node bench/segments.mjs file.wav [--threshold 0.5] [--probs]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeWav, resample } from '@echopanel/plugin-api';
import { SileroVadEngine } from '../dist/index.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { threshold: { type: 'string' }, probs: { type: 'boolean' } } });
if (positionals.length !== 1) {
  console.error('usage: node bench/segments.mjs file.wav [--threshold 0.5] [--probs]');
  process.exit(2);
}
const wav = decodeWav(readFileSync(positionals[0]));
const pcm = wav.sampleRate === 16000 || wav.sampleRate === 8000 ? wav.samples : await resample(wav.samples, wav.sampleRate, 16000);
const rate = wav.sampleRate === 8000 ? 8000 : 16000;
const engine = new SileroVadEngine(values.threshold ? { threshold: Number(values.threshold) } : {});
const detector = engine.createDetector({ sampleRate: rate });
const t0 = performance.now();
const result = await detector.push(pcm);
const events = [...result.events, ...detector.flush().events];
const ms = performance.now() - t0;
if (values.probs) for (const w of result.windows) console.log(`${(w.startSample / rate).toFixed(3)}\t${w.probability.toFixed(3)}`);
for (const e of events) if (e.type === 'speech-end') console.log(`speech ${(e.startSample / rate).toFixed(3)} – ${(e.endSample / rate).toFixed(3)} s`);
console.log(`${(pcm.length / rate).toFixed(2)} s of audio (${wav.sampleRate} Hz${rate !== wav.sampleRate ? ` → ${rate}` : ''}) in ${ms.toFixed(0)} ms`);
await engine.unload();
