// Engine floor vs provider vs full server (WebSocket), same audio and weights, one decode of the whole
// recording on each side (provider and server chunk at 30 s, so a recording ≤ 30 s is exactly one engine call
// everywhere). Runs are interleaved, rotating the order, so load drift on the shared machine hits all alike.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRuntime, decodeWav, encodeWav, pcmFrames, wordErrorRate } from '@echopanel/core';
import { concatPcm, SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/core/testing';
import { ensurePywhispercpp, startFasterWhisperFloor, whisperCppFloorRun } from '../lib/engine-floors.mjs';
import { benchConfig, cacheDir, repoRoot, startBenchServer, writeConfig } from '../lib/server-process.mjs';
import { fmt, fmtRange, markdownTable, summary } from '../lib/stats.mjs';
import { streamPcm } from '../lib/ws-stream.mjs';

const MAX_SECONDS = 29.5;

function benchAudio(wav) {
  if (wav) {
    const { samples, sampleRate } = decodeWav(readFileSync(wav));
    if (sampleRate !== 16000) throw new Error(`${wav}: need 16 kHz mono (got ${sampleRate} Hz)`);
    const cut = samples.subarray(0, Math.min(samples.length, MAX_SECONDS * 16000));
    const file = path.join(cacheDir, `rtf-${path.basename(wav)}`);
    writeFileSync(file, encodeWav(cut, 16000));
    return { file, samples: cut, label: path.basename(wav) };
  }
  const samples = concatPcm(...SPEECH_SENTENCES.map((t) => synthesizeSpeech(t, { padSeconds: 0.3 }).samples));
  const file = path.join(cacheDir, 'rtf-4-sentences.wav');
  writeFileSync(file, encodeWav(samples, 16000));
  return { file, samples, label: '4 espeak-ng sentences', reference: SPEECH_SENTENCES.join(' ') };
}

async function timeProvider(provider, samples) {
  const t0 = performance.now();
  const texts = [];
  for await (const seg of provider.transcribe(pcmFrames(samples, 16000), { sampleRate: 16000, language: 'en' })) {
    if (seg.isFinal) texts.push(seg.text);
  }
  return { ms: performance.now() - t0, text: texts.join(' ') };
}

async function timeServer(server, samples) {
  const run = await streamPcm({ wsUrl: server.wsUrl, pcm: samples, frameMs: 100, pace: 'fast' });
  if (run.errors.length) throw new Error(`server stream failed: ${JSON.stringify(run.errors)}`);
  const text = run.events.filter((e) => e.type === 'final').map((e) => e.text).join(' ');
  return { ms: run.doneAt - run.startedAt, text };
}

export async function rtfSection({ providers, runs, beam, wav, python, log }) {
  const audio = benchAudio(wav);
  const seconds = audio.samples.length / 16000;
  const cores = Math.min(8, (await import('node:os')).availableParallelism());
  const results = [];
  for (const name of providers) {
    log(`rtf: ${name} (${runs} runs × floor/provider/server, ${seconds.toFixed(1)} s audio)`);
    const config = benchConfig({ provider: name, segmentation: 'fixed', beam, providerChunkSeconds: 30 });
    const runtime = await createRuntime({ configFile: writeConfig(config), cwd: repoRoot });
    const provider = await runtime.providers.create(name);
    await provider.load();
    const server = await startBenchServer(config);
    let floor;
    if (name === 'faster-whisper') {
      const model = await runtime.models.resolve('tiny.en', 'ct2');
      const fw = await startFasterWhisperFloor({ python, modelPath: model.path, wavPath: audio.file, computeType: 'int8' });
      floor = { run: () => fw.run(beam), stop: fw.stop, label: 'faster-whisper in Python (int8)' };
    } else if (name === 'whisper-cpp') {
      ensurePywhispercpp(python);
      const model = await runtime.models.resolve('tiny.en', 'ggml');
      floor = {
        run: async () => whisperCppFloorRun({ python, ggmlPath: model.path, wavPath: audio.file, chunkSeconds: 30, threads: cores, beam }),
        stop: () => {},
        label: `whisper.cpp via ${'pywhispercpp'} (${cores} threads)`,
      };
    } else {
      throw new Error(`no engine floor for provider ${name}`);
    }
    const sides = {
      floor: () => floor.run(),
      provider: () => timeProvider(provider, audio.samples),
      server: () => timeServer(server, audio.samples),
    };
    const ms = { floor: [], provider: [], server: [] };
    const text = {};
    try {
      for (const side of Object.keys(sides)) text[side] = (await sides[side]()).text; // warm-up
      const names = Object.keys(sides);
      for (let i = 0; i < runs; i++) {
        const order = names.map((_, k) => names[(k + i) % names.length]);
        for (const side of order) {
          const r = await sides[side]();
          ms[side].push(r.ms);
          text[side] = r.text;
        }
      }
    } finally {
      floor.stop();
      await server.stop();
      await runtime.dispose();
    }
    const rtf = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, summary(v.map((x) => x / 1000 / seconds))]));
    results.push({
      provider: name,
      floor: floor.label,
      audioSeconds: seconds,
      ms: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, summary(v)])),
      rtf,
      providerOverFloor: rtf.provider.median / rtf.floor.median,
      serverOverFloor: rtf.server.median / rtf.floor.median,
      serverOverProvider: rtf.server.median / rtf.provider.median,
      // Ratios of the fastest runs: on a shared machine the minimum is the run least disturbed by others.
      minRatios: { providerOverFloor: rtf.provider.min / rtf.floor.min, serverOverFloor: rtf.server.min / rtf.floor.min },
      agreement: {
        providerVsFloorWer: wordErrorRate(text.floor, text.provider).wer,
        serverVsFloorWer: wordErrorRate(text.floor, text.server).wer,
      },
      texts: text,
      raw: ms,
    });
  }
  const table = markdownTable(
    ['provider', 'engine floor RTF', 'provider RTF', 'server (WS) RTF', 'provider / floor', 'server / floor', 'server / provider', 'min-run ratios prov / server vs floor', 'WER vs floor (prov / server)'],
    results.map((r) => [
      r.provider,
      fmtRange(r.rtf.floor, 3),
      fmtRange(r.rtf.provider, 3),
      fmtRange(r.rtf.server, 3),
      fmt(r.providerOverFloor, 3),
      fmt(r.serverOverFloor, 3),
      fmt(r.serverOverProvider, 3),
      `${fmt(r.minRatios.providerOverFloor, 3)} / ${fmt(r.minRatios.serverOverFloor, 3)}`,
      `${fmt(r.agreement.providerVsFloorWer * 100, 1)}% / ${fmt(r.agreement.serverVsFloorWer * 100, 1)}%`,
    ]),
  );
  const md = `### RTF: engine floor vs provider vs server\n\nAudio: ${audio.label}, ${seconds.toFixed(2)} s, one decode of the whole recording per side (tiny.en, beam ${beam}; faster-whisper int8); median of ${runs} interleaved runs (min–max); ratios are of the medians, and of the fastest runs (least disturbed by other load). The server side is wall time from the first frame sent (as fast as the socket takes it) to \`done\`.\n\n${table}`;
  return { md, json: { audio: { label: audio.label, seconds }, beam, runs, results } };
}
