/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// OpenAI's Realtime transcription API over WSS, driven by the official openai SDK (GA) and raw ws (beta), on a
// real server with the real engine (faster-whisper tiny.en + Silero VAD) and a certificate made here.
import { get } from 'node:https';
import { encodeMulaw, resample } from '@echopanel/core';
import { concatPcm, RECOGNIZABLE_WER, silence, SPEECH_SENTENCES, synthesizeSpeech, TranscriptPool, wordErrorRate } from '@echopanel/plugin-testkit';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { StreamClient, type ServerMessage } from './__fixtures__/ws-client.js';
import { stopServer, testServer } from './__fixtures__/test-server.js';
import { selfSignedCert } from './__fixtures__/tls-cert.js';

const KEY = 'realtime-key-0123456789';
/**
 * Every completed transcript, bounded pooled by the last test (measured 13–15 % over 100–115 words: tiny.en, one
 * sentence through 8 kHz µ-law); each one on its own only loosely.
 */
const transcripts = new TranscriptPool();
const POOLED_WER_BOUND = 0.35;

const tls = selfSignedCert();
let s: Awaited<ReturnType<typeof testServer>>;
let url: string;
let whileLoading: { error: unknown; close: number };

beforeAll(async () => {
  s = await testServer({
    server: { apiKey: KEY, tls: { certFile: tls.certFile, keyFile: tls.keyFile } },
    // The ladder is off so a busy machine cannot drop audio under the WER checks.
    asr: { degrade: { enabled: false } },
  });
  url = s.server.url;
  const early = new StreamClient(`${url}/v1/realtime?intent=transcription&api_key=${KEY}`, { ca: tls.cert });
  whileLoading = { error: (await early.waitType('error')).error, close: (await early.closed).code };
  await s.server.initialized;
}, 300000);
afterAll(() => stopServer(s), 60000);

/** 16 kHz speech of sentence `i`. */
const speech = (i: number) => synthesizeSpeech(SPEECH_SENTENCES[i]).samples;

function base64(bytes: Uint8Array | Int16Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** `bytes` as base64 appends of 100 ms each (`bytesPer100ms`), paced at twice real time. */
async function appendAll(send: (audio: string) => void, bytes: Uint8Array, bytesPer100ms: number): Promise<void> {
  for (let i = 0; i < bytes.length; i += bytesPer100ms) {
    send(base64(bytes.subarray(i, Math.min(bytes.length, i + bytesPer100ms))));
    await new Promise((r) => setTimeout(r, 50));
  }
}

function pcmBytes(pcm: Int16Array): Uint8Array {
  return new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

/** The official SDK's realtime client on `wss:`, recording every server event. */
function sdkClient(): { rt: OpenAIRealtimeWS; events: ServerMessage[]; opened: Promise<void>; waitFor(pred: (e: ServerMessage) => boolean, ms?: number): Promise<ServerMessage> } {
  const client = new OpenAI({ apiKey: KEY, baseURL: `${url}/v1`, maxRetries: 0 });
  const rt = new OpenAIRealtimeWS({ intent: 'transcription', options: { ca: tls.cert } }, client);
  const events: ServerMessage[] = [];
  const waiters: { pred: (e: ServerMessage) => boolean; resolve: (e: ServerMessage) => void }[] = [];
  rt.on('event', (e) => {
    events.push(e as unknown as ServerMessage);
    for (const w of [...waiters]) {
      if (!w.pred(e as unknown as ServerMessage)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e as unknown as ServerMessage);
    }
  });
  // API errors arrive as events too; the SDK also raises them here.
  rt.on('error', () => undefined);
  const opened = new Promise<void>((resolve, reject) => {
    rt.socket.once('open', () => resolve());
    rt.socket.once('error', reject);
  });
  const waitFor = (pred: (e: ServerMessage) => boolean, ms = 120000) => {
    const found = events.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise<ServerMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(events.map((e) => e.type))}`)), ms);
      waiters.push({ pred, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  };
  return { rt, events, opened, waitFor };
}

const ofType = (events: ServerMessage[], type: string) => events.filter((e) => e.type === type);
const TRANSCRIPTION = 'conversation.item.input_audio_transcription';

describe('TLS', () => {
  it('serves HTTPS with the configured certificate (and nothing on plain HTTP)', async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const status = await new Promise<number>((resolve, reject) => {
      get(`${url}/health`, { ca: tls.cert, headers: { authorization: `Bearer ${KEY}` } }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject);
    });
    expect(status).toBe(200);
    await expect(fetch(url.replace('https:', 'http:') + '/health/live')).rejects.toThrow();
  });
});

describe('GA protocol through the official openai SDK', () => {
  it('server VAD: speech_started/stopped/committed per utterance, deltas that only append, then completed with the words', async () => {
    const c = sdkClient();
    await c.opened;
    const created = await c.waitFor((e) => e.type === 'session.created');
    expect(created.session).toMatchObject({ type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, turn_detection: { type: 'server_vad' } } } });
    c.rt.send({
      type: 'session.update',
      session: {
        type: 'transcription',
        audio: {
          input: {
            format: { type: 'audio/pcm', rate: 24000 },
            transcription: { model: 'gpt-4o-transcribe', language: 'en' },
            turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 },
          },
        },
      },
    });
    const updated = await c.waitFor((e) => e.type === 'session.updated');
    expect(updated.session).toMatchObject({ audio: { input: { transcription: { model: 'gpt-4o-transcribe', language: 'en' } } } });

    const [a, b] = [speech(1), speech(2)];
    const pcm = await resample(concatPcm(silence(0.5), a, silence(1.5), b, silence(1.5)), 16000, 24000);
    await appendAll((audio) => c.rt.send({ type: 'input_audio_buffer.append', audio }), pcmBytes(pcm), 4800);
    const completed = [await c.waitFor((e) => e.type === `${TRANSCRIPTION}.completed`)];
    completed.push(await c.waitFor((e) => e.type === `${TRANSCRIPTION}.completed` && e.item_id !== completed[0].item_id));

    const started = ofType(c.events, 'input_audio_buffer.speech_started');
    const stopped = ofType(c.events, 'input_audio_buffer.speech_stopped');
    const committed = ofType(c.events, 'input_audio_buffer.committed');
    expect(started).toHaveLength(2);
    expect(stopped.map((e) => e.item_id)).toEqual(started.map((e) => e.item_id));
    expect(committed.map((e) => e.item_id)).toEqual(started.map((e) => e.item_id));
    expect(committed.map((e) => e.previous_item_id)).toEqual([null, started[0].item_id]);
    expect(completed.map((e) => e.item_id)).toEqual(started.map((e) => e.item_id));
    // Speech positions (ms of the appended audio): the first utterance starts near 0.5 s, the second after it ended.
    const aEnd = 500 + (a.length / 16000) * 1000;
    expect(started[0].audio_start_ms as number).toBeLessThan(700);
    expect(stopped[0].audio_end_ms as number).toBeGreaterThan(aEnd - 300);
    expect(started[1].audio_start_ms as number).toBeGreaterThan(stopped[0].audio_end_ms as number);
    for (const type of ['conversation.item.created', 'conversation.item.added', 'conversation.item.done']) {
      expect(ofType(c.events, type).map((e) => (e.item as { id: string }).id)).toEqual(started.map((e) => e.item_id));
    }
    heard(SPEECH_SENTENCES[1], completed[0].transcript as string);
    heard(SPEECH_SENTENCES[2], completed[1].transcript as string);
    // Partials: deltas came for each item before its completed; each appends words (the first without a leading
    // space), and joined they are recognizably the start of the sentence.
    for (const [i, done] of completed.entries()) {
      const mine = ofType(c.events, `${TRANSCRIPTION}.delta`).filter((d) => d.item_id === done.item_id);
      expect(mine.length).toBeGreaterThan(0);
      expect(c.events.indexOf(mine.at(-1)!)).toBeLessThan(c.events.indexOf(done));
      const parts = mine.map((d) => d.delta as string);
      expect(parts[0]).not.toMatch(/^\s/);
      for (const p of parts.slice(1)) expect(p).toMatch(/^ \S/);
      const joined = parts.join('');
      const reference = SPEECH_SENTENCES[i + 1].split(' ').slice(0, joined.split(' ').length).join(' ');
      expect(wordErrorRate(reference, joined).wer).toBeLessThan(RECOGNIZABLE_WER);
    }
    expect(completed[0].usage).toMatchObject({ type: 'duration', seconds: expect.any(Number) });
    c.rt.close();
  }, 180000);

  it('manual commit (turn_detection null): no VAD events, one item per commit; a commit under 100 ms is an error and the session goes on', async () => {
    const c = sdkClient();
    await c.opened;
    c.rt.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: null, transcription: { model: 'whisper-1' } } } } });
    expect((await c.waitFor((e) => e.type === 'session.updated')).session).toMatchObject({ audio: { input: { turn_detection: null } } });
    // Two sentences with a long pause in one commit: the client, not the pause, ends the item.
    const pcm = await resample(concatPcm(silence(0.3), speech(3), silence(1.2), speech(0), silence(0.4)), 16000, 24000);
    await appendAll((audio) => c.rt.send({ type: 'input_audio_buffer.append', audio }), pcmBytes(pcm), 4800);
    c.rt.send({ type: 'input_audio_buffer.commit', event_id: 'commit-1' });
    c.rt.send({ type: 'input_audio_buffer.commit', event_id: 'commit-2' });
    const err = await c.waitFor((e) => e.type === 'error');
    expect(err.error).toMatchObject({ type: 'invalid_request_error', code: 'input_audio_buffer_commit_empty', event_id: 'commit-2' });
    const done = await c.waitFor((e) => e.type === `${TRANSCRIPTION}.completed`);
    expect(ofType(c.events, 'input_audio_buffer.speech_started')).toHaveLength(0);
    expect(ofType(c.events, 'input_audio_buffer.committed')).toEqual([expect.objectContaining({ item_id: done.item_id, previous_item_id: null })]);
    heard(`${SPEECH_SENTENCES[3]} ${SPEECH_SENTENCES[0]}`, done.transcript as string);
    // A second commit on new audio is the next item, chained to the first.
    await appendAll((audio) => c.rt.send({ type: 'input_audio_buffer.append', audio }), pcmBytes(await resample(concatPcm(speech(2), silence(0.3)), 16000, 24000)), 4800);
    c.rt.send({ type: 'input_audio_buffer.commit' });
    const second = await c.waitFor((e) => e.type === `${TRANSCRIPTION}.completed` && e.item_id !== done.item_id);
    expect(ofType(c.events, 'input_audio_buffer.committed')[1]).toMatchObject({ item_id: second.item_id, previous_item_id: done.item_id });
    heard(SPEECH_SENTENCES[2], second.transcript as string);
    c.rt.close();
  }, 180000);

  it('idle_timeout_ms: that much audio without speech commits an empty item, announced by timeout_triggered', async () => {
    const c = sdkClient();
    await c.opened;
    c.rt.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: { type: 'server_vad', idle_timeout_ms: 1000 } } } } });
    expect((await c.waitFor((e) => e.type === 'session.updated')).session).toMatchObject({ audio: { input: { turn_detection: { idle_timeout_ms: 1000 } } } });
    await appendAll((audio) => c.rt.send({ type: 'input_audio_buffer.append', audio }), pcmBytes(new Int16Array(24000 * 1.5)), 4800);
    const timeout = await c.waitFor((e) => e.type === 'input_audio_buffer.timeout_triggered');
    expect(timeout).toMatchObject({ audio_start_ms: 0, audio_end_ms: 1000 });
    const done = await c.waitFor((e) => e.type === `${TRANSCRIPTION}.completed`);
    expect(done).toMatchObject({ item_id: timeout.item_id, transcript: '' });
    expect(ofType(c.events, 'input_audio_buffer.committed')).toEqual([expect.objectContaining({ item_id: timeout.item_id })]);
    expect(ofType(c.events, 'input_audio_buffer.speech_started')).toHaveLength(0);
    c.rt.close();
  }, 60000);

  it('G.711 µ-law at 8 kHz (audio/pcmu)', async () => {
    const c = sdkClient();
    await c.opened;
    c.rt.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcmu' } } } } });
    expect((await c.waitFor((e) => e.type === 'session.updated')).session).toMatchObject({ audio: { input: { format: { type: 'audio/pcmu' } } } });
    const ulaw = encodeMulaw(await resample(concatPcm(silence(0.5), speech(1), silence(1.5)), 16000, 8000));
    await appendAll((audio) => c.rt.send({ type: 'input_audio_buffer.append', audio }), ulaw, 800);
    const done = await c.waitFor((e) => e.type === `${TRANSCRIPTION}.completed`);
    heard(SPEECH_SENTENCES[1], done.transcript as string);
    c.rt.close();
  }, 180000);
});

describe('our extension: audio/pcm at other rates', () => {
  it('48 kHz (what browsers capture) is resampled like /v1/stream', async () => {
    const c = sdkClient();
    await c.opened;
    c.rt.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 48000 } as never } } } });
    expect((await c.waitFor((e) => e.type === 'session.updated')).session).toMatchObject({ audio: { input: { format: { type: 'audio/pcm', rate: 48000 } } } });
    const pcm = await resample(concatPcm(silence(0.5), speech(2), silence(1.5)), 16000, 48000);
    await appendAll((audio) => c.rt.send({ type: 'input_audio_buffer.append', audio }), pcmBytes(pcm), 9600);
    const done = await c.waitFor((e) => e.type === `${TRANSCRIPTION}.completed`);
    heard(SPEECH_SENTENCES[2], done.transcript as string);
    c.rt.close();
  }, 60000);
});

describe('beta protocol with raw ws', () => {
  it('transcription_session.* names and flat fields; the key as a subprotocol', async () => {
    const c = new StreamClient(`${url}/v1/realtime?intent=transcription`, {
      ca: tls.cert,
      headers: { 'OpenAI-Beta': 'realtime=v1' },
      protocols: ['realtime', `openai-insecure-api-key.${KEY}`],
    });
    await c.opened;
    // The server answers the plain subprotocol, never the one carrying the key.
    expect(c.ws.protocol).toBe('realtime');
    expect((await c.waitType('transcription_session.created')).session).toMatchObject({ input_audio_format: 'pcm16', turn_detection: { type: 'server_vad' } });
    c.send({
      type: 'transcription_session.update',
      session: {
        input_audio_format: 'pcm16',
        input_audio_transcription: { model: 'gpt-4o-mini-transcribe', language: 'en' },
        turn_detection: { type: 'semantic_vad', eagerness: 'auto' },
        input_audio_noise_reduction: { type: 'near_field' },
      },
    });
    const updated = await c.waitType('transcription_session.updated');
    expect(updated.session).toMatchObject({ input_audio_transcription: { model: 'gpt-4o-mini-transcribe' }, turn_detection: { type: 'semantic_vad' }, input_audio_noise_reduction: { type: 'near_field' } });
    const pcm = await resample(concatPcm(silence(0.5), speech(0), silence(1.5)), 16000, 24000);
    await appendAll((audio) => c.send({ type: 'input_audio_buffer.append', audio }), pcmBytes(pcm), 4800);
    const done = await c.waitType(`${TRANSCRIPTION}.completed`);
    expect(c.ofType('input_audio_buffer.committed')).toEqual([expect.objectContaining({ item_id: done.item_id })]);
    expect(c.ofType('conversation.item.created')).toHaveLength(1);
    // The GA-only item events are not sent to a beta client.
    expect(c.ofType('conversation.item.added')).toHaveLength(0);
    heard(SPEECH_SENTENCES[0], done.transcript as string);
    c.ws.close();
  }, 180000);
});

describe('errors', () => {
  it('every client mistake is an error event and the session goes on', async () => {
    const c = new StreamClient(`${url}/v1/realtime?intent=transcription&api_key=${KEY}`, { ca: tls.cert });
    await c.opened;
    await c.waitType('session.created');
    const nextError = async (send: () => void) => {
      const before = c.ofType('error').length;
      send();
      await c.waitFor(() => c.ofType('error').length > before);
      return c.ofType('error').at(-1)!.error as Record<string, unknown>;
    };
    expect(await nextError(() => c.sendText('{not json'))).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    expect(await nextError(() => c.send({ type: 'response.create', event_id: 'e1' }))).toMatchObject({ code: 'invalid_value', param: 'type', event_id: 'e1' });
    expect(await nextError(() => c.send({ type: 'input_audio_buffer.commit', event_id: 'e2' }))).toMatchObject({
      code: 'input_audio_buffer_commit_empty',
      message: expect.stringContaining('Expected at least 100ms of audio, but buffer only has 0.00ms of audio'),
      event_id: 'e2',
    });
    const oversize = Buffer.alloc(15 * 1024 * 1024 + 3).toString('base64');
    expect(await nextError(() => c.send({ type: 'input_audio_buffer.append', audio: oversize }))).toMatchObject({ code: 'audio_too_large', param: 'audio' });
    expect(await nextError(() => c.send({ type: 'input_audio_buffer.append', audio: 'not base64!!' }))).toMatchObject({ code: 'invalid_value', param: 'audio' });
    expect(await nextError(() => c.send({ type: 'input_audio_buffer.append' }))).toMatchObject({ code: 'missing_required_parameter', param: 'audio' });
    expect(await nextError(() => c.sendPcm(Buffer.alloc(320)))).toMatchObject({ code: 'invalid_event' });
    expect(await nextError(() => c.send({ type: 'session.update', session: { type: 'realtime' } }))).toMatchObject({ code: 'invalid_value', param: 'session.type' });
    expect(await nextError(() => c.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { transcription: { model: 'tts-1' } } } } }))).toMatchObject({
      code: 'model_not_found',
      message: expect.stringContaining('faster-whisper'),
    });
    expect(await nextError(() => c.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { vad: {} } } } }))).toMatchObject({ code: 'unknown_parameter' });
    expect(await nextError(() => c.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { transcription: { language: 'fr' } } } } }))).toMatchObject({
      code: 'UNSUPPORTED_LANGUAGE',
    });
    // Clear drops what was appended: the commit after it finds an empty buffer.
    c.send({ type: 'input_audio_buffer.append', audio: base64(new Int16Array(24000)) });
    c.send({ type: 'input_audio_buffer.clear' });
    await c.waitType('input_audio_buffer.cleared');
    expect(await nextError(() => c.send({ type: 'input_audio_buffer.commit' }))).toMatchObject({ code: 'input_audio_buffer_commit_empty' });
    // Still working: speech is transcribed.
    const pcm = await resample(concatPcm(silence(0.5), speech(3), silence(1.5)), 16000, 24000);
    await appendAll((audio) => c.send({ type: 'input_audio_buffer.append', audio }), pcmBytes(pcm), 4800);
    const done = await c.waitType(`${TRANSCRIPTION}.completed`);
    heard(SPEECH_SENTENCES[3], done.transcript as string);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    c.ws.close();
  }, 180000);

  it('refuses while the model loads (NOT_READY, close 1013)', () => {
    expect(whileLoading.error).toMatchObject({ type: 'server_error', code: 'NOT_READY', message: expect.stringContaining('retry when /health answers 200') });
    expect(whileLoading.close).toBe(1013);
  });

  it('refuses without the API key (401) and conversation sessions (intent other than transcription)', async () => {
    const anon = new StreamClient(`${url}/v1/realtime?intent=transcription`, { ca: tls.cert });
    await expect(anon.opened).rejects.toThrow('HTTP 401');
    const conv = new StreamClient(`${url}/v1/realtime?model=gpt-realtime&api_key=${KEY}`, { ca: tls.cert });
    await conv.opened;
    expect((await conv.waitType('error')).error).toMatchObject({ code: 'unsupported_intent' });
    expect((await conv.closed).code).toBe(1008);
  });
});

describe('accuracy over the whole file', () => {
  it(`pools every completed transcript: WER ≤ ${POOLED_WER_BOUND * 100} % over more than 80 words`, () => {
    const { wer, referenceWords } = transcripts.pooled();
    expect(referenceWords).toBeGreaterThan(80);
    expect(wer).toBeLessThanOrEqual(POOLED_WER_BOUND);
  });
});

describe('shutdown', () => {
  it('a server stopping finishes the open utterance (committed, completed), then closes with 1001', async () => {
    const c = sdkClient();
    await c.opened;
    await c.waitFor((e) => e.type === 'session.created');
    const closed = new Promise<number>((resolve) => c.rt.socket.once('close', (code: number) => resolve(code)));
    // Speech without the pause that would end it: only the shutdown does.
    await appendAll((audio) => c.rt.send({ type: 'input_audio_buffer.append', audio }), pcmBytes(await resample(concatPcm(silence(0.3), speech(3)), 16000, 24000)), 4800);
    await s.server.close({ graceMs: 20000 });
    expect(await closed).toBe(1001);
    const done = c.events.find((e) => e.type === `${TRANSCRIPTION}.completed`);
    expect(ofType(c.events, 'input_audio_buffer.committed')).toEqual([expect.objectContaining({ item_id: done?.item_id })]);
    expect(wordErrorRate(SPEECH_SENTENCES[3], done?.transcript as string).wer).toBeLessThan(RECOGNIZABLE_WER);
  }, 60000);
});

function heard(reference: string, hypothesis: string): void {
  expect(transcripts.heard(reference, hypothesis)).toBeLessThan(RECOGNIZABLE_WER);
}
