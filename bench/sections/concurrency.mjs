// Concurrency: N simultaneous real-time streams of speech (a list of N, e.g. 1, 2, 4, …, 12) to one server, with
// the host decode scheduler's batching on and off. Each stream plays its own sequence of recordings back to back
// with pauses. Per N: whether the server kept up, finals latency, dropped audio, WER against a single-stream
// reference on the same audio, CPU of the server process tree per audio second, the degrade level reached and the
// scheduler's batch sizes and queue wait from /metrics. One sweep per provider and batching mode, loopback only.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEGRADE_LEVELS } from '@echopanel/core';
import { concatPcm, seededRandom, silence, wordErrorRate } from '@echopanel/plugin-testkit';
import { generateEvalSet } from '../../scripts/generate-eval-set.mjs';
import { treeCpuSeconds } from '../lib/proc.mjs';
import { metricByLabel, metricValue } from '../lib/prometheus.mjs';
import { benchConfig, benchDir, startBenchServer } from '../lib/server-process.mjs';
import { loadSpeechDir } from '../lib/speech-dir.mjs';
import { speechBounds } from '../lib/speech.mjs';
import { fmt, markdownTable, quantile } from '../lib/stats.mjs';
import { streamPcm } from '../lib/ws-stream.mjs';
import { utteranceLatencies } from './latency.mjs';

/** Real recordings with transcripts on the project's dev machines (never read by tests). */
const DEV_REAL_DIR = '/work/shared/audio/dev-real';
const HARVARD_SET = path.join(benchDir, 'eval-set-harvard.json');
/** The reference pass streams each sequence alone at this multiple of real time (well inside the engine's speed). */
const REFERENCE_PACE = 4;

/** How late (ms) a final after its file's last audible sample, or `done` after the last frame, may be at a level that kept up. */
const KEEP_UP_MS = 3000;

/** The recordings: `speechDir`, else the dev-real recordings when present, else the generated Harvard set (espeak-ng, six voices). */
async function speechClips(speechDir, log) {
  const dir = speechDir ?? (existsSync(DEV_REAL_DIR) ? DEV_REAL_DIR : generateEvalSet({ setFile: HARVARD_SET, log }));
  const files = await loadSpeechDir(dir);
  return { dir, clips: files.map((f) => ({ ...f, bounds: speechBounds(f.pcm) })) };
}

/**
 * Stream `index`'s audio: the clips in an order of its own (seeded by the index, so stream i is the same audio
 * at every N), back to back with 1.2–2 s pauses after a 0.3–1.8 s lead, whole clips only (one too long for what
 * is left is skipped), padded to `seconds`.
 */
function streamAudio(clips, index, seconds) {
  const rand = seededRandom(7919 * (index + 1));
  const order = clips.map((c, i) => [rand(), i]).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
  const total = Math.round(seconds * 16000);
  const parts = [silence(0.3 + rand() * 1.5)];
  let at = parts[0].length;
  const utterances = [];
  // A clip that does not fit in what is left is skipped for the next that does, until none does.
  for (let k = 0, misses = 0; misses < order.length; k++) {
    const clip = clips[order[k % order.length]];
    if (at + clip.pcm.length > total) {
      misses++;
      continue;
    }
    misses = 0;
    parts.push(clip.pcm);
    utterances.push({ id: clip.id, text: clip.reference, startSample: at + clip.bounds[0], endSample: at + clip.bounds[1] });
    at += clip.pcm.length;
    const pause = silence(1.2 + rand() * 0.8);
    parts.push(pause);
    at += pause.length;
  }
  const pcm = concatPcm(...parts, silence(Math.max(0, total - at) / 16000)).subarray(0, total);
  return { pcm, utterances };
}

/** Word errors of a run's finals, pooled over its utterances (each utterance's covering finals against its transcript). */
function wordErrors(perUtterance) {
  const sum = { errors: 0, referenceWords: 0 };
  for (const u of perUtterance) {
    const w = wordErrorRate(u.text, u.hypothesis);
    sum.errors += w.substitutions + w.deletions + w.insertions;
    sum.referenceWords += w.referenceWords;
  }
  return sum;
}

const werOf = (e) => (e.referenceWords ? e.errors / e.referenceWords : NaN);
const levelIndex = (name) => Math.max(0, DEGRADE_LEVELS.indexOf(name));

/**
 * What the decode scheduler did over a level, from /metrics before and after it: engine calls by batch size,
 * skipped partials, and the finals' queue wait (the scheduler's quantiles over its recent decodes, at the end).
 */
function schedulerOver(before, after) {
  const delta = (name, label) => {
    const [a, b] = [after, before].map((t) => metricByLabel(t, name, label));
    return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]));
  };
  const calls = delta('echopanel_scheduler_calls_total', 'size');
  const sizes = Object.entries(calls).filter(([, c]) => c > 0);
  const n = sizes.reduce((sum, [, c]) => sum + c, 0);
  const wait = (quantile) => metricValue(after, 'echopanel_scheduler_wait_seconds', { priority: 'final', quantile }) * 1000;
  return {
    calls: n,
    meanBatchSize: n ? sizes.reduce((sum, [size, c]) => sum + Number(size) * c, 0) / n : NaN,
    maxBatchSize: n ? Math.max(...sizes.map(([size]) => Number(size))) : NaN,
    callsBySize: calls,
    skipped: delta('echopanel_scheduler_skipped_total', 'priority'),
    finalWaitP50Ms: wait('0.5'),
    finalWaitP95Ms: wait('0.95'),
  };
}

/** Waits (≤ 60 s) until the previous level's work is gone: backlog 0 and the degrade ladder back at NORMAL. */
async function settle(server) {
  for (let i = 0; i < 60; i++) {
    const text = await server.text('/metrics');
    if (metricValue(text, 'echopanel_degrade_level') === 0 && metricValue(text, 'echopanel_stream_backlog_seconds') === 0) return;
    await sleep(1000);
  }
}

/** Each stream's audio alone, unbatched, degrade ladder off: the words a single stream gets on the same audio. */
async function singleStreamReference(name, streams, log) {
  log(`concurrency: ${name}, single-stream reference (${streams.length} sequence(s) at ${REFERENCE_PACE}× real time)`);
  const server = await startBenchServer(benchConfig({ provider: name, segmentation: 'vad', partialIntervalSeconds: 0, asrOptions: { scheduler: { batching: false } } }));
  try {
    const perStream = [];
    for (const s of streams) {
      const run = await streamPcm({ wsUrl: server.wsUrl, pcm: s.pcm, frameMs: 20, pace: REFERENCE_PACE, timeoutMs: 300000 });
      if (run.errors.length) throw new Error(`reference stream failed: ${JSON.stringify(run.errors)}`);
      const utterances = utteranceLatencies(run, s.utterances);
      // An utterance the engine finds no words in alone (whispered speech, a breath) has no final under load either.
      perStream.push({ ...wordErrors(utterances), hasFinal: utterances.map((u) => Number.isFinite(u.finalMs)), droppedSamples: run.done?.stats?.dropped_samples ?? 0 });
    }
    return perStream;
  } finally {
    await server.stop();
  }
}

async function level(server, streams, seconds, reference) {
  await settle(server);
  const k = streams.length;
  const samples = [];
  let polling = true;
  const metrics0 = await server.text('/metrics');
  const cpu0 = treeCpuSeconds(server.pid);
  const t0 = performance.now();
  const poller = (async () => {
    while (polling) {
      const text = await server.text('/metrics');
      samples.push({ t: (performance.now() - t0) / 1000, backlog: metricValue(text, 'echopanel_stream_backlog_seconds'), degrade: metricValue(text, 'echopanel_degrade_level'), rtf: metricValue(text, 'echopanel_rtf'), load: metricValue(text, 'echopanel_scheduler_load') });
      await sleep(1000);
    }
  })();
  const runs = await Promise.all(streams.map(async (s) => ({ run: await streamPcm({ wsUrl: server.wsUrl, pcm: s.pcm, frameMs: 20, pace: 'realtime', timeoutMs: 300000 }), s })));
  polling = false;
  await poller;
  const cpuSeconds = treeCpuSeconds(server.pid) - cpu0;
  const wallSeconds = (performance.now() - t0) / 1000;
  const scheduler = schedulerOver(metrics0, await server.text('/metrics'));
  const perUtterance = runs.map(({ run, s }) => utteranceLatencies(run, s.utterances));
  const lat = perUtterance.flat().map((u) => u.finalMs);
  const finite = lat.filter(Number.isFinite);
  const missed = perUtterance.reduce((n, us, i) => n + us.filter((u, j) => !Number.isFinite(u.finalMs) && reference[i].hasFinal[j]).length, 0);
  const dropped = runs.reduce((n, { run }) => n + (run.done?.stats?.dropped_samples ?? 0), 0);
  const errors = runs.flatMap(({ run }) => run.errors.map((e) => e.code));
  const statusLevels = runs.flatMap(({ run }) => run.events.filter((e) => e.type === 'status').map((e) => levelIndex(e.degrade_level)));
  const maxDegrade = Math.max(0, ...samples.map((p) => p.degrade).filter(Number.isFinite), ...statusLevels);
  const words = perUtterance.map(wordErrors);
  const pooled = (es) => werOf({ errors: es.reduce((n, e) => n + e.errors, 0), referenceWords: es.reduce((n, e) => n + e.referenceWords, 0) });
  const drain = Math.max(...runs.map(({ run }) => run.doneAt - run.stoppedAt));
  const p95 = quantile(finite, 0.95);
  // Keeping up is judged by what a client sees: nothing dropped, no errors, every utterance's final (those with
  // one in the single-stream reference) within 3 s of its last audible sample, every stream drained within 3 s
  // of its last frame.
  const keepsUp = dropped === 0 && errors.length === 0 && missed === 0 && p95 <= KEEP_UP_MS && drain <= KEEP_UP_MS;
  return {
    streams: k,
    keepsUp,
    utterances: lat.length,
    finalP50Ms: quantile(finite, 0.5),
    finalP95Ms: p95,
    missedFinals: missed,
    textless: lat.length - finite.length - missed,
    droppedSeconds: dropped / 16000,
    wer: pooled(words),
    referenceWer: pooled(reference.slice(0, k)),
    referenceWords: words.reduce((n, e) => n + e.referenceWords, 0),
    cpuSeconds,
    cpuPerAudioSecond: cpuSeconds / (k * seconds),
    coresBusy: cpuSeconds / wallSeconds,
    maxDegradeLevel: maxDegrade,
    maxDegrade: DEGRADE_LEVELS[maxDegrade],
    scheduler,
    maxBacklogSeconds: Math.max(...samples.map((p) => p.backlog)),
    drainMs: drain,
    errors,
    backlogTrace: samples,
  };
}

/** Largest N of an ascending sweep up to which every level passed `ok` (0 when the first did not). */
function sustainedUpTo(levels, ok) {
  let n = 0;
  for (const l of levels) {
    if (!ok(l)) break;
    n = l.streams;
  }
  return n;
}

export async function concurrencySection({ concurrencyProviders: providers, concurrencyStreams, concurrencySeconds, speechDir, log }) {
  const { dir, clips } = await speechClips(speechDir, log);
  const maxStreams = Math.max(...concurrencyStreams);
  const streams = Array.from({ length: maxStreams }, (_, i) => streamAudio(clips, i, concurrencySeconds));
  log(`concurrency: ${clips.length} recordings from ${dir}; streams ${concurrencyStreams.join(', ')} × ${concurrencySeconds} s`);
  const results = [];
  for (const name of providers) {
    const reference = await singleStreamReference(name, streams, log);
    const sweeps = [];
    for (const batching of [true, false]) {
      const server = await startBenchServer(benchConfig({ provider: name, segmentation: 'vad', degrade: true, asrOptions: { scheduler: { batching } } }));
      const levels = [];
      try {
        for (const k of concurrencyStreams) {
          log(`concurrency: ${name}, batching ${batching ? 'on' : 'off'}, ${k} stream(s) × ${concurrencySeconds} s`);
          levels.push(await level(server, streams.slice(0, k), concurrencySeconds, reference));
          // One level past the first failure shows how the server behaves overloaded; then stop.
          if (levels.filter((l) => !l.keepsUp).length >= 2) break;
        }
      } finally {
        await server.stop();
      }
      sweeps.push({
        batching,
        sustainedStreams: sustainedUpTo(levels, (l) => l.keepsUp),
        normalStreams: sustainedUpTo(levels, (l) => l.keepsUp && l.maxDegradeLevel === 0),
        testedUpTo: levels.at(-1)?.streams ?? 0,
        levels,
      });
    }
    results.push({ provider: name, reference, sweeps });
  }
  const tables = results.map((r) => {
    const rows = r.sweeps.flatMap((s) =>
      s.levels.map((l) => [
        s.batching ? 'on' : 'off',
        l.streams,
        l.keepsUp ? 'yes' : 'no',
        fmt(l.finalP50Ms, 0),
        fmt(l.finalP95Ms, 0),
        `${l.missedFinals}/${l.utterances - l.textless}`,
        fmt(l.droppedSeconds, 1),
        `${fmt(l.wer * 100, 1)}%`,
        `${fmt(l.referenceWer * 100, 1)}%`,
        fmt((l.wer - l.referenceWer) * 100, 1),
        fmt(l.cpuPerAudioSecond, 3),
        fmt(l.coresBusy, 2),
        l.maxDegrade,
        `${fmt(l.scheduler.meanBatchSize, 2)} / ${fmt(l.scheduler.maxBatchSize, 0)}`,
        fmt(l.scheduler.finalWaitP95Ms, 0),
        l.scheduler.skipped.partial ?? 'n/a',
        fmt(l.maxBacklogSeconds, 1),
        fmt(l.drainMs, 0),
        l.errors.length ? [...new Set(l.errors)].join(',') : '-',
      ]),
    );
    const summary = r.sweeps.map((s) => `batching ${s.batching ? 'on' : 'off'}: ${s.sustainedStreams} kept up, ${s.normalStreams} at NORMAL (tested up to ${s.testedUpTo})`).join('; ');
    const ref = r.reference.reduce((o, x) => ({ errors: o.errors + x.errors, referenceWords: o.referenceWords + x.referenceWords, dropped: o.dropped + x.droppedSamples }), { errors: 0, referenceWords: 0, dropped: 0 });
    const refLine = `single-stream reference over all ${r.reference.length} streams: ${ref.referenceWords} words, WER ${fmt(werOf(ref) * 100, 1)}%, dropped ${fmt(ref.dropped / 16000, 1)} s`;
    return `#### ${r.provider}\n\n**${summary}.** ${refLine}.\n\n${markdownTable(['batching', 'streams', 'keeps up', 'final p50 ms', 'final p95 ms', 'missed finals', 'dropped s', 'WER', 'WER single-stream', 'Δ WER points', 'CPU s per audio s', 'cores busy', 'max degrade', 'batch mean / max', 'final queue wait p95 ms', 'partials skipped', 'max backlog s', 'drain after stop ms', 'errors'], rows)}`;
  });
  const md = `### Concurrency (real-time streams of speech, VAD segmentation)\n\nEach level: N streams at real-time pace for ${concurrencySeconds} s, 20 ms frames; stream i plays its own order of the ${clips.length} recordings in ${dir} (whole files, 1.2–2 s pauses, 0.3–1.8 s lead), the same audio at every N. One server per provider and batching mode (\`asr.scheduler.batching\`), degrade ladder on. Keeps up = nothing dropped, no errors, every file's final within 3 s of its last audible sample (final p50/p95: last audible sample sent → last final covering it received; missed: files without a final that got one alone, files without words even alone are left out), every stream \`done\` within 3 s of its last frame. WER: the finals covering each file against its transcript, pooled over the level; single-stream: the same streams' audio played alone (${REFERENCE_PACE}× real time, batching off, ladder off). CPU: user + system seconds of the server process tree (Node + engine worker) over the level, per second of audio streamed; cores busy = CPU seconds / wall seconds. Max degrade: the ladder's highest level (/metrics every 1 s and \`status\` messages). Batch: utterances per engine call over the level (\`echopanel_scheduler_calls_total\` by size); final queue wait: the scheduler's p95 over its recent finals at the level's end (\`echopanel_scheduler_wait_seconds\`); partials skipped because the engine was behind (\`echopanel_scheduler_skipped_total\`). A sweep stops one level after the first failure.\n\n${tables.join('\n\n')}`;
  return { md, json: { seconds: concurrencySeconds, streamsList: concurrencyStreams, speechDir: dir, recordings: clips.length, results } };
}
