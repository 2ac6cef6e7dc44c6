/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// The server on a loopback port with the real runtime and engine (faster-whisper tiny.en + Silero VAD).
import { encodeWav, resample } from '@echopanel/core';
import {
  concatPcm,
  RECOGNIZABLE_WER,
  silence,
  SPEECH_SENTENCES,
  synthesizeSpeech,
  TranscriptPool,
} from '@echopanel/plugin-testkit';
import OpenAI, { toFile } from 'openai';
import { StreamClient } from './__fixtures__/ws-client.js';
import { parsePrometheus, stopServer, testServer, waitForHealth } from './__fixtures__/test-server.js';

/**
 * Every transcript the suite gets, checked together at the end: one sentence is too few words for a bound that a
 * different CPU's rounding cannot flip. Pooled, tiny.en measures 5–10 % WER here; each transcript on its own
 * only has to be recognizably the sentence (under 60 %).
 */
const transcripts = new TranscriptPool();
const POOLED_WER_BOUND = 0.2;
function heard(reference: string, hypothesis: string): void {
  expect(transcripts.heard(reference, hypothesis)).toBeLessThan(RECOGNIZABLE_WER);
}
let s: Awaited<ReturnType<typeof testServer>>;
let url: string;
let healthWhileLoading: { status: number; body: Record<string, unknown> };
let liveWhileLoading: number;
let streamWhileLoading: { error: Record<string, unknown>; close: number };
let uploadWhileLoading: { status: number; body: Record<string, any> };

const speech = (i: number) => synthesizeSpeech(SPEECH_SENTENCES[i]).samples;

beforeAll(async () => {
  // The ladder is off here so a busy machine cannot drop audio under the WER checks (see the degrade test).
  s = await testServer({ asr: { degrade: { enabled: false } } });
  url = s.server.url;
  const res = await fetch(`${url}/health`);
  healthWhileLoading = { status: res.status, body: (await res.json()) as Record<string, unknown> };
  liveWhileLoading = (await fetch(`${url}/health/live`)).status;
  const early = new StreamClient(`${url}/v1/stream`);
  await early.opened;
  early.send({ type: 'start' });
  streamWhileLoading = { error: await early.waitType('error'), close: (await early.closed).code };
  const form = new FormData();
  form.append('file', new Blob([encodeWav(speech(3), 16000)]), 'a.wav');
  form.append('model', 'whisper-1');
  const up = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  uploadWhileLoading = { status: up.status, body: (await up.json()) as Record<string, any> };
  await waitForHealth(url, 200);
}, 300000);
afterAll(() => stopServer(s), 60000);

describe('health and introspection', () => {
  it('answers 503 loading while the model loads, /health/live 200, then 200 READY with timings', async () => {
    expect(healthWhileLoading.status).toBe(503);
    expect(healthWhileLoading.body).toMatchObject({ status: 'loading', provider: 'faster-whisper' });
    expect(['UNINITIALIZED', 'LOADING', 'WARMING_UP']).toContain(healthWhileLoading.body.model_state);
    expect(healthWhileLoading.body.reason).toMatch(/^model /);
    expect(liveWhileLoading).toBe(200);
    // Work that needs the model is refused with the reason until it is ready.
    expect(streamWhileLoading.error).toMatchObject({ code: 'NOT_READY' });
    expect(streamWhileLoading.close).toBe(1013);
    expect(uploadWhileLoading.status).toBe(503);
    expect(uploadWhileLoading.body.error.code).toBe('NOT_READY');
    const res = await fetch(`${url}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', provider: 'faster-whisper', model: 'tiny.en', model_state: 'READY' });
    expect(body.load_time_ms).toBeGreaterThan(0);
    expect(body.warmup_time_ms).toBeGreaterThan(0);
  });

  it('/model-status and /capabilities describe the engine', async () => {
    const status = (await (await fetch(`${url}/model-status`)).json()) as Record<string, any>;
    expect(status.health.state).toBe('READY');
    expect(status.health.memory.workerRssBytes).toBeGreaterThan(0);
    expect(status.model.name).toBe('tiny.en');
    expect(status.vad).toMatchObject({ enabled: true, loaded: true });
    const caps = (await (await fetch(`${url}/capabilities`)).json()) as Record<string, any>;
    expect(caps.active.provider).toBe('faster-whisper');
    expect(caps.selection.reason).toMatch(/configured/);
    expect(caps.profile.cpuCores).toBeGreaterThan(0);
    expect(caps.recommendation.provider).toEqual(expect.any(String));
    expect(caps.degrade).toMatchObject({ enabled: false, level: 'NORMAL' });
    const fw = caps.providers.find((p: { name: string }) => p.name === 'faster-whisper');
    expect(fw).toMatchObject({ available: true });
    expect(caps.providers.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['faster-whisper', 'whisper-cpp', 'voxtral']));
  });

  it('unknown routes get a JSON 404', async () => {
    const res = await fetch(`${url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});

describe('WebSocket /v1/stream', () => {
  it('streams real speech: ready, finals matching the text, done with full accounting, normal close', async () => {
    const pcm = concatPcm(silence(0.5), speech(0), silence(1), speech(2), silence(0.8));
    const c = new StreamClient(`${url}/v1/stream`);
    await c.opened;
    c.send({ type: 'start', sample_rate: 16000, encoding: 'pcm_s16le', source: 'mic', language: 'en' });
    const ready = await c.waitType('ready');
    expect(ready).toMatchObject({ provider: 'faster-whisper', model: 'tiny.en', source: 'mic', segmentation: 'vad' });
    expect(typeof ready.session).toBe('string');
    await c.stream(pcm, 1600, 5);
    c.send({ type: 'stop' });
    const done = await c.waitType('done');
    const closed = await c.closed;
    expect(closed.code).toBe(1000);
    const reference = `${SPEECH_SENTENCES[0]} ${SPEECH_SENTENCES[2]}`;
    heard(reference, c.finalText());
    for (const f of c.ofType('final')) {
      expect(f).toMatchObject({ source: 'mic', language: 'en' });
      expect(f.end as number).toBeGreaterThan(f.start as number);
      expect(typeof f.confidence).toBe('number');
    }
    const stats = done.stats as Record<string, number>;
    expect(stats.received_samples).toBe(pcm.length);
    expect(stats.transcribed_samples + stats.silence_samples + stats.dropped_samples).toBe(pcm.length);
    expect(stats.dropped_samples).toBe(0);
    expect(stats.silence_samples).toBeGreaterThan(16000);
    // done comes after every final.
    expect(c.messages.findIndex((m) => m.type === 'done')).toBe(c.messages.length - 1);
  });

  it('without a start message, binary audio starts a stream with the defaults', async () => {
    const c = new StreamClient(`${url}/v1/stream`);
    await c.opened;
    await c.stream(concatPcm(speech(3), silence(0.5)));
    c.send({ type: 'stop' });
    await c.waitType('done');
    expect(c.messages[0]).toMatchObject({ type: 'ready', source: 'mic', sample_rate: 16000 });
    heard(SPEECH_SENTENCES[3], c.finalText());
  });

  it('carries mic and system sources in one session, each with its own finals and accounting', async () => {
    const mic = new StreamClient(`${url}/v1/stream`);
    await mic.opened;
    mic.send({ type: 'start', source: 'mic' });
    const session = (await mic.waitType('ready')).session as string;
    const sys = new StreamClient(`${url}/v1/stream`);
    await sys.opened;
    sys.send({ type: 'start', source: 'system', session });
    expect(await sys.waitType('ready')).toMatchObject({ session, source: 'system' });
    // The same source twice in one session is refused.
    const dup = new StreamClient(`${url}/v1/stream`);
    await dup.opened;
    dup.send({ type: 'start', source: 'mic', session });
    expect(await dup.waitType('error')).toMatchObject({ code: 'SOURCE_IN_USE' });
    expect((await dup.closed).code).toBe(1013);

    const a = concatPcm(speech(1), silence(0.6));
    const b = concatPcm(speech(3), silence(0.6));
    await Promise.all([mic.stream(a, 1600, 5), sys.stream(b, 1600, 5)]);
    mic.send({ type: 'stop' });
    sys.send({ type: 'stop' });
    const [dm, ds] = await Promise.all([mic.waitType('done'), sys.waitType('done')]);
    heard(SPEECH_SENTENCES[1], mic.finalText());
    heard(SPEECH_SENTENCES[3], sys.finalText());
    expect(mic.ofType('final').every((f) => f.source === 'mic')).toBe(true);
    expect(sys.ofType('final').every((f) => f.source === 'system')).toBe(true);
    expect(dm).toMatchObject({ session, source: 'mic' });
    expect(ds).toMatchObject({ session, source: 'system' });
    expect((dm.stats as Record<string, number>).received_samples).toBe(a.length);
    expect((ds.stats as Record<string, number>).received_samples).toBe(b.length);
  });

  it('resamples 48 kHz audio and carries odd byte counts across frames', async () => {
    const pcm16 = concatPcm(speech(2), silence(0.5));
    const pcm48 = await resample(pcm16, 16000, 48000);
    const bytes = Buffer.from(pcm48.buffer, pcm48.byteOffset, pcm48.byteLength);
    const c = new StreamClient(`${url}/v1/stream`);
    await c.opened;
    c.send({ type: 'start', sample_rate: 48000 });
    await c.waitType('ready');
    // 4801-byte frames: every frame ends mid-sample.
    for (let i = 0; i < bytes.length; i += 4801) c.sendPcm(bytes.subarray(i, Math.min(bytes.length, i + 4801)));
    c.send({ type: 'stop' });
    const done = await c.waitType('done');
    heard(SPEECH_SENTENCES[2], c.finalText());
    // Every 48 kHz sample arrived whole, and the stream's resampler loses none of them.
    expect(Math.abs((done.stats as Record<string, number>).received_samples - pcm48.length / 3)).toBeLessThanOrEqual(1);
  });

  it('answers protocol mistakes with errors and keeps the stream going', async () => {
    const c = new StreamClient(`${url}/v1/stream`);
    await c.opened;
    c.sendText('{not json');
    expect(await c.waitFor((m) => m.type === 'error' && m.code === 'INVALID_JSON')).toBeDefined();
    c.send({ type: 'dance' });
    expect(await c.waitFor((m) => m.type === 'error' && m.code === 'UNKNOWN_MESSAGE_TYPE')).toBeDefined();
    c.send({ type: 'start', sample_rate: 'fast' });
    expect(await c.waitFor((m) => m.type === 'error' && m.code === 'INVALID_MESSAGE')).toBeDefined();
    c.send({ type: 'start' });
    await c.waitType('ready');
    c.send({ type: 'start' });
    expect(await c.waitFor((m) => m.type === 'error' && m.code === 'INVALID_STATE')).toBeDefined();
    await c.stream(concatPcm(speech(3), silence(0.5)));
    c.send({ type: 'stop' });
    await c.waitType('done');
    heard(SPEECH_SENTENCES[3], c.finalText());
  });

  it('an unsupported encoding is refused with a clear error', async () => {
    const c = new StreamClient(`${url}/v1/stream`);
    await c.opened;
    c.send({ type: 'start', encoding: 'opus' });
    expect(await c.waitType('error')).toMatchObject({ code: 'UNSUPPORTED_ENCODING' });
    expect((await c.closed).code).toBe(1003);
  });

  it('a client that disconnects mid-stream leaves nothing behind: stream closed, engine queue drained, audio accounted', async () => {
    const before = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
    const c = new StreamClient(`${url}/v1/stream`);
    await c.opened;
    c.send({ type: 'start' });
    await c.waitType('ready');
    const pcm = concatPcm(...[0, 1, 2, 3].map((i) => concatPcm(speech(i), silence(0.5))));
    await c.stream(pcm);
    c.ws.terminate();
    // The server notices, aborts the stream and drains its engine work.
    const deadline = Date.now() + 60000;
    let m = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
    while ((m.get('echopanel_streams_active') !== 0 || m.get('echopanel_engine_backlog') !== 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      m = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
    }
    expect(m.get('echopanel_streams_active')).toBe(0);
    expect(m.get('echopanel_engine_backlog')).toBe(0);
    expect(m.get('echopanel_stream_backlog_seconds')).toBe(0);
    const status = (await (await fetch(`${url}/model-status`)).json()) as Record<string, any>;
    expect(status.streams.active).toBe(0);
    // Every sample of the dropped connection is accounted: what was not decoded counts as dropped.
    const delta = (k: string) => (m.get(k) ?? 0) - (before.get(k) ?? 0);
    const accounted = delta('echopanel_samples_total{outcome="accounted"}');
    expect(accounted).toBe(pcm.length);
    expect(delta('echopanel_samples_total{outcome="transcribed"}') + delta('echopanel_samples_total{outcome="silence"}') + delta('echopanel_samples_total{outcome="dropped"}')).toBe(pcm.length);
    expect(delta('echopanel_samples_total{outcome="dropped"}')).toBeGreaterThan(0);
  });
});

describe('OpenAI-compatible API through the official openai client', () => {
  let client: OpenAI;
  beforeAll(() => {
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused-without-server-key', maxRetries: 0, timeout: 120000 });
  });

  it('transcribes a WAV (json)', async () => {
    const pcm = concatPcm(silence(0.3), speech(1), silence(0.5), speech(3), silence(0.3));
    const result = await client.audio.transcriptions.create({ file: await toFile(encodeWav(pcm, 16000), 'speech.wav'), model: 'whisper-1' });
    heard(`${SPEECH_SENTENCES[1]} ${SPEECH_SENTENCES[3]}`, result.text);
  });

  it('verbose_json with word and segment timestamps, language and prompt', async () => {
    const pcm = concatPcm(silence(0.5), speech(1), silence(0.3));
    const result = await client.audio.transcriptions.create({
      file: await toFile(encodeWav(pcm, 16000), 'speech.wav'),
      model: 'whisper-1',
      language: 'en',
      prompt: 'Stella and her store.',
      response_format: 'verbose_json',
      timestamp_granularities: ['word', 'segment'],
    });
    expect(result.language).toBe('english');
    expect(result.duration).toBeCloseTo(pcm.length / 16000, 2);
    heard(SPEECH_SENTENCES[1], result.text);
    expect(result.segments!.length).toBeGreaterThan(0);
    expect(result.segments![0].start).toBeGreaterThanOrEqual(0.3);
    expect(result.words!.length).toBeGreaterThanOrEqual(12);
    for (let i = 1; i < result.words!.length; i++) expect(result.words![i].start).toBeGreaterThanOrEqual(result.words![i - 1].start);
  });

  it('text, srt and vtt', async () => {
    const wav = encodeWav(concatPcm(speech(3), silence(0.3)), 16000);
    const text = await client.audio.transcriptions.create({ file: await toFile(wav, 'a.wav'), model: 'whisper-1', response_format: 'text' });
    heard(SPEECH_SENTENCES[3], String(text));
    const srt = String(await client.audio.transcriptions.create({ file: await toFile(wav, 'a.wav'), model: 'whisper-1', response_format: 'srt' }));
    expect(srt).toMatch(/^1\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\n\S/);
    const vtt = String(await client.audio.transcriptions.create({ file: await toFile(wav, 'a.wav'), model: 'whisper-1', response_format: 'vtt' }));
    expect(vtt).toMatch(/^WEBVTT\n\n00:00:0\d\.\d{3} --> 00:00:0\d\.\d{3}\n\S/);
  });

  it('an MP3 tag with no audio after it is 400 INVALID_AUDIO naming the format', async () => {
    const mp3 = Buffer.concat([Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'binary'), Buffer.alloc(2000, 0x55)]);
    const err = await client.audio.transcriptions.create({ file: await toFile(mp3, 'a.mp3'), model: 'whisper-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((err as InstanceType<typeof OpenAI.APIError>).message).toMatch(/MP3/);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('INVALID_AUDIO');
  });

  it('8 kHz WAV is resampled; bad requests get 400', async () => {
    // Telephone-band speech (nothing above 4 kHz) costs tiny.en words (0.4 WER here), so the 8 kHz upload is
    // compared with the same band-limited audio sent at 16 kHz: the same words (~50, pooled over four sentences).
    const pcm8 = await resample(concatPcm(...SPEECH_SENTENCES.map((_, i) => concatPcm(speech(i), silence(0.3)))), 16000, 8000);
    const same16 = await client.audio.transcriptions.create({ file: await toFile(encodeWav(await resample(pcm8, 8000, 16000), 16000), 'a.wav'), model: 'whisper-1' });
    const r = await client.audio.transcriptions.create({ file: await toFile(encodeWav(pcm8, 8000), 'a.wav'), model: 'whisper-1' });
    heard(same16.text, r.text);
    const bad = await client.audio.transcriptions
      .create({ file: await toFile(encodeWav(pcm8, 8000), 'a.wav'), model: 'whisper-1', response_format: 'xml' as 'json' })
      .catch((e: unknown) => e);
    expect((bad as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
  });

  it('lists models', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(['faster-whisper:tiny.en', 'whisper-1']));
  });
});

describe('/metrics', () => {
  it('parses as Prometheus text and moves as audio flows', async () => {
    const before = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
    for (const name of ['echopanel_rtf', 'echopanel_engine_backlog', 'echopanel_streams_active', 'echopanel_degrade_level']) expect(before.has(name)).toBe(true);
    expect(before.get('echopanel_model_state{state="READY"}')).toBe(1);
    expect(before.get('echopanel_memory_bytes{kind="worker_rss"}')).toBeGreaterThan(0);
    const c = new StreamClient(`${url}/v1/stream`);
    await c.opened;
    const pcm = concatPcm(silence(0.5), speech(2), silence(0.5));
    await c.stream(pcm);
    c.send({ type: 'stop' });
    await c.waitType('done');
    const after = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
    const d = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    expect(d('echopanel_streams_total')).toBe(1);
    expect(d('echopanel_audio_received_seconds_total')).toBeCloseTo(pcm.length / 16000, 3);
    expect(d('echopanel_samples_total{outcome="accounted"}')).toBe(pcm.length);
    expect(d('echopanel_samples_total{outcome="transcribed"}')).toBeGreaterThan(0);
    expect(d('echopanel_samples_total{outcome="silence"}')).toBeGreaterThan(0);
    expect(d('echopanel_inference_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(after.get('echopanel_rtf')).toBeGreaterThan(0);
    // The stream's decodes went through the decode scheduler: its calls and waits are counted.
    expect(d('echopanel_scheduler_calls_total{size="1"}')).toBeGreaterThanOrEqual(1);
    expect(after.has('echopanel_scheduler_wait_seconds{priority="final",quantile="0.95"}')).toBe(true);
    expect(after.get('echopanel_scheduler_queued')).toBe(0);
    expect(after.get('echopanel_scheduler_load')).toBeGreaterThan(0);
  });
});

describe('accuracy over the whole suite', () => {
  it(`pools every transcript above: WER ≤ ${POOLED_WER_BOUND * 100} % over more than 100 words`, () => {
    const pooled = transcripts.pooled();
    expect(pooled.referenceWords).toBeGreaterThan(100);
    expect(pooled.wer).toBeLessThanOrEqual(POOLED_WER_BOUND);
  });
});
