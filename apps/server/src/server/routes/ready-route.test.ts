/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
import { encodeWav } from '@echopanel/core';
import { concatPcm, silence, SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import { StreamClient } from '../__fixtures__/ws-client.js';
import { stopServer, testServer, waitForHealth } from '../__fixtures__/test-server.js';

// /health/ready takes a replica out of a load balancer while it cannot take work: the model not READY yet, the
// streams at their limit, the upload queue full (SIGTERM: jobs-redis.test.ts).
const KEY = 'ready-key';
let s: Awaited<ReturnType<typeof testServer>> | undefined;
let url: string;
let whileLoading: Awaited<ReturnType<typeof ready>>;

beforeAll(async () => {
  s = await testServer({ server: { apiKey: KEY, limits: { maxSessions: 1, maxConcurrentRequests: 1, maxQueuedRequests: 0 } } });
  url = s.server.url;
  // The model takes seconds to load (a Python worker starts, then a warmup inference): the first probe is earlier.
  whileLoading = await ready();
  await waitForHealth(url, 200, { authorization: `Bearer ${KEY}` });
});
afterAll(() => stopServer(s));

async function ready(): Promise<{ status: number; body: { status: string; reasons?: string[] } }> {
  const res = await fetch(`${url}/health/ready`);
  return { status: res.status, body: (await res.json()) as { status: string; reasons?: string[] } };
}

async function until(pred: (r: Awaited<ReturnType<typeof ready>>) => boolean): Promise<Awaited<ReturnType<typeof ready>>> {
  const deadline = Date.now() + 60_000;
  let r = await ready();
  while (!pred(r) && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 20));
    r = await ready();
  }
  return r;
}

it('503 naming the model state until the model is READY', () => {
  expect(whileLoading).toMatchObject({ status: 503, body: { status: 'not_ready', reasons: [expect.stringMatching(/^model (loading|warming_up|unloaded)/)] } });
});

it('answers 200 without the API key when the replica can take work', async () => {
  expect(await ready()).toMatchObject({ status: 200, body: { status: 'ready' } });
});

it('503 with the reason while the streams are at server.limits.maxSessions', async () => {
  const c = new StreamClient(`${url}/v1/stream`, { headers: { authorization: `Bearer ${KEY}` } });
  await c.opened;
  c.send({ type: 'start' });
  await c.waitType('ready');
  expect(await until((r) => r.status === 503)).toMatchObject({ status: 503, body: { status: 'not_ready', reasons: [expect.stringMatching(/maxSessions \(1\) reached/)] } });
  c.send({ type: 'stop' });
  c.ws.close();
  await c.closed;
  expect((await until((r) => r.status === 200)).status).toBe(200);
});

it('503 with the reason while the upload queue is full, 200 again after', async () => {
  const pcm = concatPcm(...Array.from({ length: 6 }, (_, i) => [synthesizeSpeech(SPEECH_SENTENCES[i % 4]).samples, silence(0.5)]).flat());
  const fd = new FormData();
  fd.set('file', new Blob([encodeWav(pcm, 16000)]), 'speech.wav');
  const upload = fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: fd });
  const busy = await until((r) => r.status === 503);
  expect(busy).toMatchObject({ status: 503, body: { reasons: [expect.stringMatching(/upload queue is full: 1 running, 0 queued/)] } });
  expect((await upload).status).toBe(200);
  expect((await until((r) => r.status === 200)).status).toBe(200);
});
