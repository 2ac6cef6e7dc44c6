// Engine floor vs provider vs full server (WebSocket), same audio and weights, one decode of the whole
// recording on each side (provider and server chunk at 30 s, so a recording ≤ 30 s is exactly one engine call
// everywhere). Runs are interleaved, rotating the order, so load drift on the shared machine hits all alike.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRuntime, decodeWav, encodeWav, pcmFrames } from '@echopanel/core';
import { concatPcm, SPEECH_SENTENCES, synthesizeSpeech, wordErrorRate } from '@echopanel/plugin-testkit';
import { ensurePywhispercpp, startFasterWhisperFloor, startWhisperCppFloor, whisperCppFloorRun } from '../lib/engine-floors.mjs';
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
    let yardstick;
    if (name === 'faster-whisper') {
      const model = await runtime.models.resolve('tiny.en', 'ct2');
      const fw = await startFasterWhisperFloor({ python, modelPath: model.path, wavPath: audio.file, computeType: 'int8' });
      floor = { run: () => fw.run(beam), stop: fw.stop, label: 'faster-whisper in Python (int8)' };
    } else if (name === 'whisper-cpp') {
      ensurePywhispercpp(python);
      const model = await runtime.models.resolve('tiny.en', 'ggml');
      const cpp = await startWhisperCppFloor({ ggmlPath: model.path, wavPath: audio.file, threads: cores, beam });
      floor = {
        run: () => cpp.run(),
        stop: cpp.stop,
        label: `whisper.cpp called directly through the provider's smart-whisper addon (${cores} threads)`,
      };
      yardstick = {
        run: async () => whisperCppFloorRun({ python, ggmlPath: model.path, wavPath: audio.file, chunkSeconds: 30, threads: cores, beam }),
        label: `PyPI ${'pywhispercpp'} (prebuilt whisper.cpp, ${cores} threads)`,
      };
    } else {
      throw new Error(`no engine floor for provider ${name}`);
    }
    const sides = {
      floor: () => floor.run(),
      provider: () => timeProvider(provider, audio.samples),
      server: () => timeServer(server, audio.samples),
    };
    if (yardstick) sides.yardstick = () => yardstick.run();
    const ms = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
    const text = {};
    try {
      // Warm-up of the resident sides (the pywhispercpp yardstick warms up inside each of its runs).
      for (const side of Object.keys(sides).filter((k) => k !== 'yardstick')) text[side] = (await sides[side]()).text;
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
      yardstick: yardstick?.label,
      yardstickOverFloor: yardstick ? rtf.yardstick.median / rtf.floor.median : undefined,
      audioSeconds: seconds,
      ms: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, summary(v)])),
      rtf,
      providerOverFloor: rtf.provider.median / rtf.floor.median,
      serverOverFloor: rtf.server.median / rtf.floor.median,
      serverOverProvider: rtf.server.median / rtf.provider.median,
      // Paired ratios: each round's sides ran back to back, so their ratio cancels most of the load drift of a
      // shared machine; the median over rounds is the overhead figure the targets use.
      paired: {
        providerOverFloor: summary(ms.provider.map((x, i) => x / ms.floor[i])),
        serverOverFloor: summary(ms.server.map((x, i) => x / ms.floor[i])),
        serverOverProvider: summary(ms.server.map((x, i) => x / ms.provider[i])),
      },
      agreement: {
        providerVsFloorWer: wordErrorRate(text.floor, text.provider).wer,
        yardstickVsProviderWer: text.yardstick ? wordErrorRate(text.yardstick, text.provider).wer : undefined,
        serverVsFloorWer: wordErrorRate(text.floor, text.server).wer,
      },
      texts: text,
      raw: ms,
    });
  }
  const table = markdownTable(
    ['provider', 'engine floor RTF', 'provider RTF', 'server (WS) RTF', 'provider / floor', 'server / floor', 'server / provider', 'paired server / floor, median (min–max)', 'paired provider / floor', 'WER vs floor (prov / server)'],
    results.map((r) => [
      r.provider,
      fmtRange(r.rtf.floor, 3),
      fmtRange(r.rtf.provider, 3),
      fmtRange(r.rtf.server, 3),
      fmt(r.providerOverFloor, 3),
      fmt(r.serverOverFloor, 3),
      fmt(r.serverOverProvider, 3),
      fmtRange(r.paired.serverOverFloor, 3),
      fmtRange(r.paired.providerOverFloor, 3),
      `${fmt(r.agreement.providerVsFloorWer * 100, 1)}% / ${fmt(r.agreement.serverVsFloorWer * 100, 1)}%`,
    ]),
  );
  const notes = results.map((r) => `- ${r.provider}: engine floor = ${r.floor}${r.yardstick ? `; yardstick = ${r.yardstick}: RTF ${fmtRange(r.rtf.yardstick, 3)}, ${fmt(r.yardstickOverFloor, 2)}× the floor (agreement with the provider's text: WER ${fmt(r.agreement.yardstickVsProviderWer * 100, 1)}%)` : ''}`).join('\n');
  const md = `### RTF: engine floor vs provider vs server\n\nAudio: ${audio.label}, ${seconds.toFixed(2)} s, one decode of the whole recording per side (tiny.en, beam ${beam}; faster-whisper int8); median of ${runs} interleaved runs (min–max); ratios are of the medians, and paired (each round's sides ran back to back; the median of the per-round ratios cancels most load drift). The server side is wall time from the first frame sent (as fast as the socket takes it) to \`done\`.\n\n${table}\n\n${notes}`;
  return { md, json: { audio: { label: audio.label, seconds }, beam, runs, results } };
}
