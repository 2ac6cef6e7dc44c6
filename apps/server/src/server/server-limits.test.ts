/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// Limits and the API key, on a real server with small limits.
import { encodeWav } from '@echopanel/core';
import { concatPcm, silence, SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import OpenAI, { toFile } from 'openai';
import { startServer } from './start-server.js';
import { StreamClient } from './__fixtures__/ws-client.js';
import { stopServer, testRuntime, testServer, waitForHealth } from './__fixtures__/test-server.js';

const KEY = 'test-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
let s: Awaited<ReturnType<typeof testServer>>;
let url: string;

beforeAll(async () => {
  s = await testServer({
    server: {
      apiKey: KEY,
      corsOrigins: ['http://app.example'],
      resampleOtherRates: false,
      limits: { maxFrameBytes: 8000, maxSessions: 2, maxSessionSeconds: 3, maxUploadBytes: 256 * 1024 },
    },
    asr: { degrade: { enabled: false }, partialIntervalSeconds: 0 },
  });
  url = s.server.url;
  await waitForHealth(url, 200, auth);
}, 300000);
afterAll(() => stopServer(s), 60000);

const streamUrl = () => `${url}/v1/stream`;

describe('API key', () => {
  it('is required on every route but /health/live', async () => {
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    for (const path of ['/health', '/model-status', '/capabilities', '/metrics', '/v1/models']) {
      const res = await fetch(`${url}${path}`);
      expect([path, res.status]).toEqual([path, 401]);
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      expect((await fetch(`${url}${path}`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${url}${path}`, { headers: auth })).status).toBe(200);
      expect((await fetch(`${url}${path}`, { headers: { 'x-api-key': KEY } })).status).toBe(200);
    }
  });

  it('is required on the admin and model routes (POST /v1/admin/reload, model load/unload)', async () => {
    for (const [method, path] of [
      ['POST', '/v1/admin/reload'],
      ['POST', '/v1/models/faster-whisper:tiny.en/load'],
      ['DELETE', '/v1/models/faster-whisper:tiny.en'],
    ]) {
      const res = await fetch(`${url}${path}`, { method });
      expect([path, res.status]).toEqual([path, 401]);
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
    // With the key it answers (this test server has no config file to reload).
    const res = await fetch(`${url}/v1/admin/reload`, { method: 'POST', headers: auth });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_SUPPORTED' }, reload: { result: 'failed' } });
  });

  it('the openai client authenticates with its apiKey; a wrong key is a 401', async () => {
    const good = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
    const wav = encodeWav(concatPcm(synthesizeSpeech(SPEECH_SENTENCES[3]).samples, silence(0.3)), 16000);
    const r = await good.audio.transcriptions.create({ file: await toFile(wav, 'a.wav'), model: 'whisper-1' });
    expect(r.text.toLowerCase()).toContain('small computer');
    const bad = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'nope', maxRetries: 0 });
    const err = await bad.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('WebSocket: refused without the key, accepted with the header or ?api_key=', async () => {
    const none = new StreamClient(streamUrl());
    await expect(none.opened).rejects.toThrow(/401/);
    const header = new StreamClient(streamUrl(), { headers: auth });
    await header.opened;
    header.ws.close();
    const query = new StreamClient(`${streamUrl()}?api_key=${KEY}`);
    await query.opened;
    query.ws.close();
  });

  it('a non-loopback bind without a key is refused before listening', async () => {
    const runtime = await testRuntime();
    try {
      await expect(startServer({ runtime, host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'API_KEY_REQUIRED' });
    } finally {
      await runtime.dispose();
    }
  });
});

describe('CORS', () => {
  it('allows the configured origin only', async () => {
    const pre = (origin: string) =>
      fetch(`${url}/v1/models`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    const ok = await pre('http://app.example');
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://app.example');
    const other = await pre('http://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('limits', () => {
  async function started(): Promise<StreamClient> {
    const c = new StreamClient(streamUrl(), { headers: auth });
    await c.opened;
    c.send({ type: 'start' });
    await c.waitFor((m) => m.type === 'ready' || m.type === 'error');
    return c;
  }

  it('a frame above maxFrameBytes gets an error and is discarded; the stream goes on', async () => {
    const c = await started();
    c.sendPcm(new Int16Array(5000));
    expect(await c.waitType('error')).toMatchObject({ code: 'FRAME_TOO_LARGE' });
    expect(String(c.ofType('error')[0].message)).toMatch(/maxFrameBytes \(8000\)/);
    c.sendPcm(new Int16Array(1600));
    c.send({ type: 'stop' });
    const done = await c.waitType('done');
    expect((done.stats as Record<string, number>).received_samples).toBe(1600);
    expect((await c.closed).code).toBe(1000);
  });

  it('beyond maxSessions concurrent streams a client is told to retry later', async () => {
    const a = await started();
    const b = await started();
    const c = new StreamClient(streamUrl(), { headers: auth });
    await c.opened;
    c.send({ type: 'start' });
    expect(await c.waitType('error')).toMatchObject({ code: 'TOO_MANY_SESSIONS' });
    expect((await c.closed).code).toBe(1013);
    for (const x of [a, b]) x.send({ type: 'stop' });
    await Promise.all([a.waitType('done'), b.waitType('done')]);
    // Capacity is back once they are done.
    const d = await started();
    expect(d.ofType('ready')).toHaveLength(1);
    d.send({ type: 'stop' });
    await d.waitType('done');
  });

  it('a stream past maxSessionSeconds is finished: error, its finals, done', async () => {
    const c = await started();
    const speech = synthesizeSpeech(SPEECH_SENTENCES[2]).samples; // ~4 s > 3 s limit
    await c.stream(concatPcm(speech, silence(0.5)), 800);
    expect(await c.waitType('error')).toMatchObject({ code: 'SESSION_TOO_LONG' });
    const done = await c.waitType('done');
    expect((done.stats as Record<string, number>).received_samples).toBeLessThanOrEqual(3 * 16000 + 800);
    expect((await c.closed).code).toBe(1000);
  });

  it('odd byte counts are carried to the next frame', async () => {
    const c = await started();
    const pcm = synthesizeSpeech(SPEECH_SENTENCES[3]).samples.subarray(0, 16001);
    const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    for (let i = 0; i < bytes.length; i += 777) c.sendPcm(bytes.subarray(i, Math.min(bytes.length, i + 777)));
    c.send({ type: 'stop' });
    const done = await c.waitType('done');
    expect((done.stats as Record<string, number>).received_samples).toBe(16001);
  });

  it('other sample rates are refused when resampling is off', async () => {
    const c = new StreamClient(streamUrl(), { headers: auth });
    await c.opened;
    c.send({ type: 'start', sample_rate: 44100 });
    const err = await c.waitType('error');
    expect(err).toMatchObject({ code: 'UNSUPPORTED_SAMPLE_RATE' });
    expect(String(err.message)).toMatch(/44100.*16000/);
    expect((await c.closed).code).toBe(1003);
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
    const wav = encodeWav(new Int16Array(8000), 8000);
    const e = await client.audio.transcriptions.create({ file: await toFile(wav, 'a.wav'), model: 'whisper-1' }).catch((x: unknown) => x);
    expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((e as InstanceType<typeof OpenAI.APIError>).code).toBe('UNSUPPORTED_SAMPLE_RATE');
  });

  it('uploads above maxUploadBytes get 413', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
    const wav = encodeWav(new Int16Array(200 * 1024), 16000);
    const e = await client.audio.transcriptions.create({ file: await toFile(wav, 'a.wav'), model: 'whisper-1' }).catch((x: unknown) => x);
    expect((e as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
  });
});
