#!/usr/bin/env node
// Server benchmark on the real engine (build first: npx tsc -b apps/server).
//   node apps/server/bench/stream-latency.mjs [--wav path/to/speech.wav] [--runs 3]
// Prints, within one run (ratios, not absolute times, are what to compare):
//   1. file transcription: provider.decode on each VAD utterance directly vs the same audio through
//      POST /v1/audio/transcriptions (HTTP + multipart + pipeline overhead ratio);
//   2. live streaming at real-time pace over a WebSocket: latency from the end of each utterance's audio to its
//      final, and the stream's RTF as the server reports it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRuntime, decodeWav, encodeWav, resample } from '@echopanel/core';
import { concatPcm, silence, SPEECH_SENTENCES, synthesizeSpeech, wordErrorRate } from '@echopanel/plugin-testkit';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
const { startServer } = await import(path.join(here, '../dist/server/index.js'));
const { values } = parseArgs({ options: { wav: { type: 'string' }, runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);

let pcm;
let reference;
if (values.wav) {
  const a = decodeWav(readFileSync(values.wav));
  pcm = a.sampleRate === 16000 ? a.samples : await resample(a.samples, a.sampleRate, 16000);
  const txt = values.wav.replace(/\.wav$/, '.txt');
  try { reference = readFileSync(txt, 'utf8'); } catch { reference = undefined; }
} else {
  pcm = concatPcm(...SPEECH_SENTENCES.map((s) => concatPcm(synthesizeSpeech(s).samples, silence(0.8))));
  reference = SPEECH_SENTENCES.join(' ');
}
const seconds = pcm.length / 16000;

const runtime = await createRuntime({
  inline: { asr: { provider: 'faster-whisper', degrade: { enabled: false }, partialIntervalSeconds: 0 }, providers: { 'faster-whisper': { model: 'tiny.en', beamSize: 1 } } },
  cwd: path.join(here, '../../..'),
});
const server = await startServer({ runtime, host: '127.0.0.1', port: 0 });
await server.initialized;
const url = server.url;
console.log(`audio: ${seconds.toFixed(1)} s; server ${url}; provider ${server.engine.providerName}`);

// 1. direct decode of the same utterances vs the HTTP route
const { StreamSession } = await import('@echopanel/core');
const utterances = [];
{
  const s = new StreamSession({ provider: server.engine.manager, detector: server.engine.createDetector(), partialIntervalSeconds: 0, maxBacklogSeconds: seconds + 1, onEvent: () => {} });
  // Collect the cuts the pipeline makes by decoding through a recording wrapper.
  const orig = server.engine.manager.decode.bind(server.engine.manager);
  server.engine.manager.decode = async (p, o) => { utterances.push({ p, o }); return orig(p, o); };
  for (let i = 0; i < pcm.length; i += 1600) s.push(pcm.subarray(i, i + 1600));
  await s.end();
  server.engine.manager.decode = orig;
}
const direct = [];
const http = [];
let httpText = '';
const wav = encodeWav(pcm, 16000);
for (let r = 0; r < runs; r++) {
  let t = performance.now();
  for (const u of utterances) await server.engine.manager.decode(u.p, u.o);
  direct.push(performance.now() - t);
  const form = new FormData();
  form.append('file', new Blob([wav], { type: 'audio/wav' }), 'a.wav');
  form.append('model', 'whisper-1');
  t = performance.now();
  const res = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  httpText = (await res.json()).text;
  http.push(performance.now() - t);
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`file: ${utterances.length} utterances; direct decode median ${med(direct).toFixed(0)} ms (RTF ${(med(direct) / 1000 / seconds).toFixed(3)}), ` +
  `HTTP route median ${med(http).toFixed(0)} ms (RTF ${(med(http) / 1000 / seconds).toFixed(3)}); overhead ratio ${(med(http) / med(direct)).toFixed(3)}`);
if (reference) console.log(`file WER ${(wordErrorRate(reference, httpText).wer * 100).toFixed(1)} %`);

// 2. live stream at real-time pace: latency from the end of each utterance's audio to its final
const ws = new WebSocket(url.replace('http', 'ws') + '/v1/stream');
await new Promise((r) => ws.once('open', r));
const finals = [];
const started = performance.now();
let done;
const doneP = new Promise((r) => (done = r));
ws.on('message', (d) => {
  const m = JSON.parse(d.toString());
  if (m.type === 'final') finals.push({ ...m, at: performance.now() - started });
  if (m.type === 'done') done(m);
});
ws.send(JSON.stringify({ type: 'start' }));
for (let i = 0; i < pcm.length; i += 1600) {
  ws.send(Buffer.from(pcm.buffer, pcm.byteOffset + i * 2, Math.min(1600, pcm.length - i) * 2));
  const due = ((i + 1600) / 16000) * 1000;
  const wait = due - (performance.now() - started);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
ws.send(JSON.stringify({ type: 'stop' }));
const doneMsg = await doneP;
const lat = finals.map((f) => f.at - f.end * 1000);
console.log(`stream: ${finals.length} finals; latency after utterance end: median ${med(lat).toFixed(0)} ms, max ${Math.max(...lat).toFixed(0)} ms`);
if (reference) console.log(`stream WER ${(wordErrorRate(reference, finals.map((f) => f.text).join(' ')).wer * 100).toFixed(1)} %`);
console.log(`stream stats ${JSON.stringify(doneMsg.stats)}`);
const h = server.engine.manager.health();
console.log(`engine: RTF ${h.rtf.toFixed(3)}, p50 ${h.p50InferMs.toFixed(0)} ms, p95 ${h.p95InferMs.toFixed(0)} ms, load ${h.loadMs} ms, warmup ${h.warmupMs} ms`);
await server.close();
await runtime.dispose();
