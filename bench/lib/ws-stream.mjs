// A /v1/stream client for benchmarks: sends PCM over a real WebSocket, either at real-time pace (frames on a
// drift-free schedule) or as fast as the socket takes it, and records when every frame left and every server
// message arrived (client clock, performance.now()).
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from './server-process.mjs';

// `ws` is the server package's own dependency; resolve it from there rather than declaring a root dependency.
const WebSocket = createRequire(path.join(repoRoot, 'apps', 'server', 'package.json'))('ws');

/**
 * Streams `pcm` (16 kHz mono s16) to `wsUrl`.
 * @param {object} o
 * @param {string} o.wsUrl
 * @param {Int16Array} o.pcm
 * @param {number} [o.frameMs] frame length (default 20 ms, a microphone's)
 * @param {'realtime'|'fast'|number} [o.pace] real time, unpaced, or N × real time
 * @param {number} [o.timeoutMs] give up waiting for `done` after the last frame
 * @returns {Promise<{ frameSamples: number, sentAt: number[], events: object[], startedAt: number, stoppedAt: number, doneAt: number, done?: object, errors: object[] }>}
 */
export async function streamPcm({ wsUrl, pcm, frameMs = 20, pace = 'realtime', timeoutMs = 120000, start = {} }) {
  const ws = new WebSocket(wsUrl);
  const events = [];
  const errors = [];
  let doneMsg;
  let resolveDone;
  const finished = new Promise((r) => (resolveDone = r));
  let readyResolve;
  const ready = new Promise((r) => (readyResolve = r));
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const at = performance.now();
    const msg = JSON.parse(data.toString());
    msg.at = at;
    events.push(msg);
    if (msg.type === 'ready') readyResolve(msg);
    if (msg.type === 'error') {
      errors.push(msg);
      readyResolve(msg);
    }
    if (msg.type === 'done') {
      doneMsg = msg;
      resolveDone();
    }
  });
  ws.on('close', () => {
    readyResolve({ type: 'closed' });
    resolveDone();
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'start', sample_rate: 16000, encoding: 'pcm_s16le', ...start }));
  const r = await ready;
  if (r.type !== 'ready') {
    ws.close();
    throw new Error(`stream refused: ${JSON.stringify(r)}`);
  }
  const frameSamples = Math.round((frameMs / 1000) * 16000);
  const speed = pace === 'realtime' ? 1 : pace === 'fast' ? Infinity : Number(pace);
  const sentAt = [];
  const startedAt = performance.now();
  for (let i = 0, k = 0; i < pcm.length; i += frameSamples, k++) {
    if (Number.isFinite(speed)) {
      const due = startedAt + (k * frameMs) / speed;
      const now = performance.now();
      if (due > now) await sleep(due - now);
    } else if (ws.bufferedAmount > 1 << 20) {
      await sleep(1);
    }
    const frame = pcm.subarray(i, Math.min(pcm.length, i + frameSamples));
    ws.send(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
    sentAt.push(performance.now());
  }
  const stoppedAt = performance.now();
  ws.send(JSON.stringify({ type: 'stop' }));
  const timer = sleep(timeoutMs).then(() => 'timeout');
  const outcome = await Promise.race([finished.then(() => 'done'), timer]);
  if (outcome === 'timeout') errors.push({ type: 'error', code: 'BENCH_TIMEOUT', message: `no done within ${timeoutMs} ms after stop` });
  const doneAt = doneMsg?.at ?? performance.now();
  if (ws.readyState === WebSocket.OPEN) ws.close();
  return { frameSamples, sentAt, events, startedAt, stoppedAt, doneAt, done: doneMsg, errors };
}

/** Wall time at which sample index `s` had been sent (the frame holding it). */
export function sentTimeOfSample(run, s) {
  return run.sentAt[Math.min(run.sentAt.length - 1, Math.floor(s / run.frameSamples))];
}
