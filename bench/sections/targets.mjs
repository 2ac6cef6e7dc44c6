// The project's targets (issue 10; concurrency: issue 21) against this run's numbers.
import { DEFAULT_SCHEDULER_SETTINGS } from '@echopanel/core';
import { fmt, markdownTable } from '../lib/stats.mjs';

export function targetsReport(results) {
  const rows = [];
  const json = [];
  const add = (target, provider, value, met, note = '') => {
    rows.push([target, provider, value, met === undefined ? 'n/a' : met ? 'met' : 'NOT met', note]);
    json.push({ target, provider, value, met: met ?? null, note });
  };
  for (const r of results.rtf?.results ?? []) {
    const paired = r.paired.serverOverFloor.median;
    add('server over WS ≤ 1.10× engine RTF', r.provider, `${fmt(paired, 3)}× paired (ratio of medians ${fmt(r.serverOverFloor, 3)}×; server RTF ${fmt(r.rtf.server.median, 3)} vs engine ${fmt(r.rtf.floor.median, 3)})`, paired <= 1.1, r.floor);
  }
  for (const r of results.latency?.results ?? []) {
    add('final ≤ 700 ms p95 after last sample', r.provider, `p95 ${fmt(r.finalMs.p95, 0)} ms, p50 ${fmt(r.finalMs.p50, 0)} ms`, r.finalMs.p95 <= 700 && r.missedFinals === 0);
  }
  for (const r of results.concurrency?.results ?? []) {
    // The product's default (asr.scheduler.batching) is what the targets are met with; the other mode is the note.
    const [on, off] = [DEFAULT_SCHEDULER_SETTINGS.batching, !DEFAULT_SCHEDULER_SETTINGS.batching].map((b) => r.sweeps.find((s) => s.batching === b));
    const otherMode = off?.batching ? 'batching on' : 'batching off';
    const weights = r.provider === 'faster-whisper' ? 'int8' : 'ggml f16';
    add('≥ 4 concurrent real-time streams (2 cores, tiny.en, VAD)', r.provider, `${on.sustainedStreams} kept up (tested up to ${on.testedUpTo})`, on.sustainedStreams >= 4, `${weights}; ${otherMode}: ${off?.sustainedStreams ?? 'n/a'}`);
    // Issue 21: 8 real-time streams of real speech with finals p95 ≤ 1.5 s and nothing dropped.
    const eight = (s) => s?.levels.find((l) => l.streams === 8);
    const eightMet = (l) => l.keepsUp && l.finalP95Ms <= 1500 && l.droppedSeconds === 0 && l.missedFinals === 0;
    const eightValue = (l, s) => (l ? `final p95 ${fmt(l.finalP95Ms, 0)} ms, dropped ${fmt(l.droppedSeconds, 1)} s, missed finals ${l.missedFinals}` : s?.testedUpTo ? `sweep stopped at ${s.testedUpTo} streams` : 'not in the sweep');
    const l8 = eight(on);
    // n/a when 8 is not in the sweep's list; NOT met when the sweep stopped before it.
    const met8 = results.concurrency.streamsList.includes(8) ? Boolean(l8 && eightMet(l8)) : undefined;
    add('8 real-time streams: finals p95 ≤ 1.5 s, nothing dropped', r.provider, eightValue(l8, on), met8, `${otherMode}: ${eightValue(eight(off), off)}`);
    add('≥ 4 streams with the degrade ladder at NORMAL', r.provider, `${on.normalStreams} streams at NORMAL (tested up to ${on.testedUpTo})`, on.normalStreams >= 4, `${otherMode}: ${off?.normalStreams ?? 'n/a'}`);
  }
  for (const r of results['cold-start']?.results ?? []) {
    add('cold start to READY ≤ 2 s', r.provider, `${fmt(r.readyMs.median, 0)} ms (load ${fmt(r.loadMs.median, 0)}, warmup ${fmt(r.warmupMs.median, 0)})`, r.readyMs.median <= 2000);
  }
  for (const r of results.memory?.results ?? []) {
    add('RSS ≤ 400 MB with tiny.en loaded', r.provider, `${fmt((r.afterLoadMiB * 2 ** 20) / 1e6, 0)} MB after load, ${fmt((r.afterStreamingMiB * 2 ** 20) / 1e6, 0)} MB after streaming`, (r.afterStreamingMiB * 2 ** 20) / 1e6 <= 400 && (r.afterLoadMiB * 2 ** 20) / 1e6 <= 400);
  }
  const md = rows.length ? `### Targets\n\n${markdownTable(['target', 'provider', 'measured', 'status', 'note'], rows)}\n\nStreaming WER vs offline WER is reported by \`npm run eval\`.` : '';
  return { md, json };
}
