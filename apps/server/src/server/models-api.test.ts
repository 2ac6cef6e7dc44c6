/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// The model API against real servers and engines: list, unload with the memory freed, lazy reload on the next
// request, load of another engine, idle unload, and the INSUFFICIENT_MEMORY refusal.
import { encodeWav } from '@echopanel/core';
import { concatPcm, processExists, RECOGNIZABLE_WER, silence, SPEECH_SENTENCES, synthesizeSpeech, TranscriptPool } from '@echopanel/plugin-testkit';
import { startServer } from './start-server.js';
import { stopServer, testRuntime, testServer, waitForHealth } from './__fixtures__/test-server.js';
import { StreamClient } from './__fixtures__/ws-client.js';

const transcripts = new TranscriptPool();
const speech = (i: number) => synthesizeSpeech(SPEECH_SENTENCES[i]).samples;

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function upload(url: string, i: number): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([encodeWav(concatPcm(silence(0.3), speech(i), silence(0.5)), 16000)]), 'a.wav');
  const r = await json(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  expect(r.status).toBe(200);
  return r.body.text as string;
}

describe('model load/unload API', () => {
  let s: Awaited<ReturnType<typeof testServer>>;
  let url: string;
  beforeAll(async () => {
    s = await testServer({
      asr: { degrade: { enabled: false } },
      models: { preload: ['whisper-cpp:tiny.en', 'whisper-cpp:huge'] },
      providers: { 'whisper-cpp': { model: 'tiny.en', beamSize: 1 } },
    });
    url = s.server.url;
    await waitForHealth(url, 200);
  }, 300000);
  afterAll(() => stopServer(s), 60000);

  it('GET /v1/models lists what the providers can serve, with state, size and sha256', async () => {
    const { body } = await json(`${url}/v1/models`);
    const fw = body.data.find((m: { id: string }) => m.id === 'faster-whisper:tiny.en');
    expect(fw).toMatchObject({ object: 'model', provider: 'faster-whisper', model: 'tiny.en', format: 'ct2', state: 'loaded' });
    expect(fw.size_bytes).toBeGreaterThan(10e6);
    expect(fw.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(fw.memory_estimate_bytes).toBeGreaterThan(fw.size_bytes);
    const cpp = body.data.find((m: { id: string }) => m.id === 'whisper-cpp:tiny.en');
    expect(cpp).toMatchObject({ provider: 'whisper-cpp', format: 'ggml', state: 'available' });
    expect(body.data).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'whisper-1', alias_of: 'faster-whisper:tiny.en' })]));
  });

  it('models.preload prepares the weights of the models named (ggml converted into the store); an unknown one is reported', async () => {
    const deadline = Date.now() + 120000;
    let preload: Record<string, any>[] = [];
    while (Date.now() < deadline) {
      preload = (await json(`${url}/v1/models`)).body.preload as Record<string, any>[];
      if (preload.every((p) => p.state !== 'pending')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(preload[0]).toMatchObject({ id: 'whisper-cpp:tiny.en', state: 'ready' });
    expect(preload[0].path).toMatch(/\.bin$/);
    expect(preload[1]).toMatchObject({ id: 'whisper-cpp:huge', state: 'failed', error: { code: 'MODEL_NOT_FOUND' } });
  }, 150000);

  it('DELETE unloads (the worker exits, memory freed is reported); /health stays 200; the next request loads it again', async () => {
    const pid = (await json(`${url}/model-status`)).body.health.workerPid as number;
    expect(processExists(pid)).toBe(true);
    const del = await json(`${url}/v1/models/faster-whisper:tiny.en`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ id: 'faster-whisper:tiny.en', state: 'available' });
    expect(del.body.rss_before_bytes - del.body.rss_after_bytes).toBe(del.body.freed_bytes);
    // The worker's whole RSS (Python + CTranslate2 + weights) goes.
    expect(del.body.freed_bytes).toBeGreaterThan(50e6);
    expect(processExists(pid)).toBe(false);
    const health = await json(`${url}/health`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', model_state: 'UNINITIALIZED', unloaded: true, provider: 'faster-whisper' });
    expect((await json(`${url}/v1/models`)).body.data.find((m: { id: string }) => m.id === 'faster-whisper:tiny.en').state).toBe('available');

    expect(transcripts.heard(SPEECH_SENTENCES[0], await upload(url, 0))).toBeLessThan(RECOGNIZABLE_WER);
    expect((await json(`${url}/health`)).body).toMatchObject({ status: 'ok', model_state: 'READY', provider: 'faster-whisper' });
  }, 120000);

  it('POST /v1/models/{id}/load switches to whisper.cpp with load and warmup times; DELETE releases its native memory', async () => {
    const load = await json(`${url}/v1/models/whisper-cpp:tiny.en/load`, { method: 'POST' });
    expect(load.status).toBe(200);
    expect(load.body).toMatchObject({ id: 'whisper-cpp:tiny.en', state: 'loaded' });
    expect(load.body.load_time_ms).toBeGreaterThan(0);
    expect(load.body.warmup_time_ms).toBeGreaterThan(0);
    expect((await json(`${url}/health`)).body).toMatchObject({ status: 'ok', provider: 'whisper-cpp', model: 'tiny.en' });
    expect(transcripts.heard(SPEECH_SENTENCES[1], await upload(url, 1))).toBeLessThan(RECOGNIZABLE_WER);

    const del = await json(`${url}/v1/models/whisper-cpp:tiny.en`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(del.body.freed_bytes).toBeGreaterThan(20e6);
    expect((await json(`${url}/health`)).body).toMatchObject({ status: 'ok', unloaded: true, provider: 'whisper-cpp' });
  }, 180000);

  it('an unknown model is 404 MODEL_NOT_FOUND naming the ones there are', async () => {
    const r = await json(`${url}/v1/models/faster-whisper:huge/load`, { method: 'POST' });
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(r.body.error.message).toContain('faster-whisper:tiny.en');
  });
});

describe('idle unload and the memory limit', () => {
  let s: Awaited<ReturnType<typeof testServer>>;
  let url: string;
  beforeAll(async () => {
    const config = {
      asr: { degrade: { enabled: false } },
      models: { idleUnloadSeconds: 2, availableMemoryBytes: 50_000_000 },
      providers: { 'whisper-cpp': { model: 'tiny.en', beamSize: 1 } },
    };
    const runtime = await testRuntime(config);
    // A reload asks for whisper.cpp, which does not fit either.
    const reloadRuntime = () => testRuntime({ ...config, asr: { ...config.asr, provider: 'whisper-cpp' } });
    s = { server: await startServer({ runtime, host: '127.0.0.1', port: 0, reloadRuntime }), runtime };
    url = s.server.url;
    await waitForHealth(url, 200);
  }, 300000);
  afterAll(() => stopServer(s), 60000);

  it('unloads after models.idleUnloadSeconds; /health stays 200; a stream loads it again and transcribes fully', async () => {
    const pid = (await json(`${url}/model-status`)).body.health.workerPid as number;
    const deadline = Date.now() + 30000;
    let health = await json(`${url}/health`);
    while (!health.body.unloaded && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      health = await json(`${url}/health`);
    }
    expect(health).toMatchObject({ status: 200, body: { status: 'ok', unloaded: true, model_state: 'UNINITIALIZED' } });
    expect(processExists(pid)).toBe(false);

    const c = new StreamClient(`${url}/v1/stream`);
    await c.opened;
    c.send({ type: 'start', sample_rate: 16000, encoding: 'pcm_s16le', source: 'mic', language: 'en' });
    expect(await c.waitType('ready')).toMatchObject({ provider: 'faster-whisper' });
    const pcm = concatPcm(silence(0.3), speech(2), silence(1), speech(3), silence(1));
    await c.stream(pcm, 1600, 5);
    c.send({ type: 'stop' });
    const stats = (await c.waitType('done', 120000)).stats as Record<string, number>;
    expect(c.ofType('error')).toEqual([]);
    expect(stats.received_samples).toBe(pcm.length);
    expect(stats.transcribed_samples + stats.silence_samples + stats.dropped_samples).toBe(pcm.length);
    expect(stats.dropped_samples).toBe(0);
    expect(transcripts.heard(`${SPEECH_SENTENCES[2]} ${SPEECH_SENTENCES[3]}`, c.finalText())).toBeLessThan(RECOGNIZABLE_WER);
  }, 120000);

  it('a model that does not fit models.availableMemoryBytes is refused with INSUFFICIENT_MEMORY; the serving model stays', async () => {
    const r = await json(`${url}/v1/models/whisper-cpp:tiny.en/load`, { method: 'POST' });
    expect(r.status).toBe(507);
    expect(r.body.error).toMatchObject({ code: 'INSUFFICIENT_MEMORY' });
    expect(r.body.error.message).toContain('models.availableMemoryBytes');
    expect(r.body.details).toMatchObject({ available: 50_000_000 });
    expect(r.body.details.needed).toBeGreaterThan(50_000_000);
    expect((await json(`${url}/health`)).body).toMatchObject({ status: 'ok', provider: 'faster-whisper' });
  });

  it('so is a config reload that switches to it: the reload fails with the reason, the serving model stays', async () => {
    const report = await s.server.reload('test');
    expect(report).toMatchObject({ result: 'failed', revision: 1, changed: ['asr.provider'], error: { code: 'INSUFFICIENT_MEMORY' } });
    expect((await json(`${url}/model-status`)).body.config.lastReload).toMatchObject({ result: 'failed', error: { code: 'INSUFFICIENT_MEMORY' } });
    expect((await json(`${url}/health`)).body).toMatchObject({ status: 'ok', provider: 'faster-whisper' });
  });
});

afterAll(() => {
  const pooled = transcripts.pooled();
  expect(pooled.referenceWords).toBeGreaterThanOrEqual(40);
  // Measured 10-12 % over these 50 words (tiny.en); 2x margin.
  expect(pooled.wer).toBeLessThan(0.25);
});
