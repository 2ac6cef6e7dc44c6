// Memory: resident set of the server process tree (server + engine worker) after the model is READY, after N
// minutes of one real-time stream, and after the model is unloaded.
import { concatPcm } from '@echopanel/plugin-testkit';
import { setTimeout as sleep } from 'node:timers/promises';
import { MiB } from '../lib/proc.mjs';
import { LATENCY_SENTENCES, utteranceStream } from '../lib/speech.mjs';
import { benchConfig, startBenchServer } from '../lib/server-process.mjs';
import { fmt, markdownTable } from '../lib/stats.mjs';
import { streamPcm } from '../lib/ws-stream.mjs';

export async function memorySection({ providers, memoryMinutes, log }) {
  const base = utteranceStream(LATENCY_SENTENCES).pcm;
  const reps = Math.max(1, Math.ceil((memoryMinutes * 60 * 16000) / base.length));
  const pcm = concatPcm(...Array.from({ length: reps }, () => base)).subarray(0, Math.round(memoryMinutes * 60 * 16000));
  const results = [];
  for (const name of providers) {
    log(`memory: ${name} (${memoryMinutes} min of streaming)`);
    const server = await startBenchServer(benchConfig({ provider: name, segmentation: 'vad' }));
    try {
      await sleep(1000);
      const loaded = server.rss();
      let peak = loaded.total;
      const timer = setInterval(() => (peak = Math.max(peak, server.rss().total)), 2000);
      const run = await streamPcm({ wsUrl: server.wsUrl, pcm, frameMs: 20, pace: 'realtime', timeoutMs: 300000 });
      clearInterval(timer);
      const streamed = server.rss();
      await server.unload();
      await sleep(1000);
      const unloaded = server.rss();
      results.push({
        provider: name,
        afterLoadMiB: loaded.total / MiB,
        afterLoadProcesses: loaded.parts.map((p) => ({ pid: p.pid, MiB: p.rss / MiB })),
        afterStreamingMiB: streamed.total / MiB,
        peakMiB: peak / MiB,
        afterUnloadMiB: unloaded.total / MiB,
        afterUnloadProcesses: unloaded.parts.map((p) => ({ pid: p.pid, MiB: p.rss / MiB })),
        streamedSeconds: pcm.length / 16000,
        finals: run.events.filter((e) => e.type === 'final').length,
        errors: run.errors,
      });
    } finally {
      await server.stop();
    }
  }
  const table = markdownTable(
    ['provider', 'after load MiB (processes)', `after ${memoryMinutes} min streaming MiB`, 'peak while streaming MiB', 'after unload MiB'],
    results.map((r) => [r.provider, `${fmt(r.afterLoadMiB, 0)} (${r.afterLoadProcesses.length})`, fmt(r.afterStreamingMiB, 0), fmt(r.peakMiB, 0), fmt(r.afterUnloadMiB, 0)]),
  );
  const md = `### Memory (RSS of the server process tree: Node server + engine worker)\n\nOne real-time stream for ${memoryMinutes} min (flag \`--memory-minutes\`; the issue's 10 min is \`--memory-minutes 10\`), VAD segmentation; unload through the server's ModelManager. Not a timing: one run.\n\n${table}`;
  return { md, json: { minutes: memoryMinutes, results } };
}
