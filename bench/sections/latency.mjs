// Streaming latency over a real WebSocket at real-time pace, VAD segmentation (the default): per utterance, the
// time from sending its last audible sample to receiving the `final` that covers it, and from sending its first
// sample to the first `partial` about it.
import { wordErrorRate } from '@echopanel/plugin-testkit';
import { LATENCY_SENTENCES, utteranceStream } from '../lib/speech.mjs';
import { benchConfig, startBenchServer } from '../lib/server-process.mjs';
import { fmt, fmtRange, markdownTable, quantile, summary } from '../lib/stats.mjs';
import { sentTimeOfSample, streamPcm } from '../lib/ws-stream.mjs';

const overlaps = (e, u) => Math.min(e.end * 16000, u.endSample) - Math.max(e.start * 16000, u.startSample) > 0;

/** Per-utterance latencies of one streamed run. */
export function utteranceLatencies(run, utterances) {
  const finals = run.events.filter((e) => e.type === 'final');
  const partials = run.events.filter((e) => e.type === 'partial');
  return utterances.map((u) => {
    const lastSent = sentTimeOfSample(run, u.endSample - 1);
    const firstSent = sentTimeOfSample(run, u.startSample);
    const covering = finals.filter((e) => overlaps(e, u));
    const firstPartial = partials.find((e) => overlaps(e, u));
    return {
      text: u.text,
      finalMs: covering.length ? Math.max(...covering.map((e) => e.at)) - lastSent : NaN,
      firstPartialMs: firstPartial ? firstPartial.at - firstSent : NaN,
      hypothesis: covering.map((e) => e.text).join(' '),
    };
  });
}

/**
 * With `endpoints` (seconds of endpoint silence), each provider runs once per value: the trade-off between how
 * soon a final comes and how often a pause inside a sentence splits it (WER), so the default is a measured choice.
 */
export async function latencySection({ providers, runs, utterances: count, partialsOffToo, endpoints, vadOptions, log }) {
  const { pcm, utterances } = utteranceStream(LATENCY_SENTENCES.slice(0, count));
  const seconds = pcm.length / 16000;
  const results = [];
  // With --partials-off-too, each provider also runs without partial re-decodes, to show what they cost the final.
  const perProvider = (name) => {
    const base = endpoints ? endpoints.map((e) => ({ name, label: `${name} endpoint ${e} s`, endpoint: e })) : [{ name, label: name }];
    return partialsOffToo ? base.flatMap((v) => [v, { ...v, label: `${v.label} (partials off)`, partialIntervalSeconds: 0 }]) : base;
  };
  const variants = providers.flatMap(perProvider);
  for (const { name, label, partialIntervalSeconds, endpoint } of variants) {
    log(`latency: ${label} (${runs} runs × ${seconds.toFixed(1)} s at real time)`);
    const asrOptions = endpoint !== undefined ? { endpointSilenceSeconds: endpoint } : undefined;
    const server = await startBenchServer(benchConfig({ provider: name, segmentation: 'vad', partialIntervalSeconds, vadOptions, asrOptions }));
    const perRun = [];
    try {
      for (let i = 0; i < runs; i++) {
        const run = await streamPcm({ wsUrl: server.wsUrl, pcm, frameMs: 20, pace: 'realtime' });
        if (run.errors.length) throw new Error(`stream failed: ${JSON.stringify(run.errors)}`);
        perRun.push({ utterances: utteranceLatencies(run, utterances), dropped: run.done?.stats?.dropped_samples ?? NaN });
      }
    } finally {
      await server.stop();
    }
    const finals = perRun.flatMap((r) => r.utterances.map((u) => u.finalMs));
    const partials = perRun.flatMap((r) => r.utterances.map((u) => u.firstPartialMs));
    const ok = finals.filter(Number.isFinite);
    const all = perRun.flatMap((r) => r.utterances);
    const wer = wordErrorRate(all.map((u) => u.text).join(' '), all.map((u) => u.hypothesis).join(' ')).wer;
    results.push({
      provider: label,
      wer,
      utterances: finals.length,
      missedFinals: finals.length - ok.length,
      finalMs: { p50: quantile(ok, 0.5), p95: quantile(ok, 0.95), ...summary(ok) },
      perRunP95: summary(perRun.map((r) => quantile(r.utterances.map((u) => u.finalMs).filter(Number.isFinite), 0.95))),
      firstPartialMs: { p50: quantile(partials.filter(Number.isFinite), 0.5), p95: quantile(partials.filter(Number.isFinite), 0.95), ...summary(partials) },
      droppedSamples: perRun.reduce((n, r) => n + (r.dropped || 0), 0),
      perRun,
    });
  }
  const table = markdownTable(
    ['provider', 'utterances', 'WER', 'final p50 ms', 'final p95 ms', 'per-run p95 ms, median (min–max)', 'first partial p50 / p95 ms', 'missed finals', 'dropped samples'],
    results.map((r) => [
      r.provider,
      r.utterances,
      `${fmt(r.wer * 100, 1)}%`,
      fmt(r.finalMs.p50, 0),
      fmt(r.finalMs.p95, 0),
      fmtRange(r.perRunP95, 0),
      `${fmt(r.firstPartialMs.p50, 0)} / ${fmt(r.firstPartialMs.p95, 0)}`,
      r.missedFinals,
      r.droppedSamples,
    ]),
  );
  const md = `### Streaming latency (VAD segmentation, real-time pace)\n\n${runs} runs of ${utterances.length} utterances (${seconds.toFixed(1)} s, 1.5 s pauses, 20 ms frames) per provider over a WebSocket to a server on 127.0.0.1. Final: last audible sample sent → its \`final\` received (includes the VAD's end-of-speech wait). First partial: first sample sent → first \`partial\` about the utterance.\n\n${table}`;
  return { md, json: { audioSeconds: seconds, utterances: utterances.map((u) => ({ text: u.text, start: u.startSample / 16000, end: u.endSample / 16000 })), runs, results } };
}
