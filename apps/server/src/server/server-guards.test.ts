/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// Guards on a real server with real clients: cross-site Host/Origin checks (DNS rebinding, foreign web pages),
// request-field validation on uploads and streams, the WebSocket payload cap, and admission control.
import http from 'node:http';
import { encodeWav } from '@echopanel/core';
import { concatPcm, silence, SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import WebSocket from 'ws';
import { StreamClient } from './__fixtures__/ws-client.js';
import { parsePrometheus, stopServer, testServer, waitForHealth } from './__fixtures__/test-server.js';

let s: Awaited<ReturnType<typeof testServer>>;
let url: string;
let port: number;

beforeAll(async () => {
  s = await testServer({
    server: {
      corsOrigins: ['http://app.example'],
      allowedHosts: ['echopanel.internal'],
      limits: { maxFrameBytes: 8000, maxConcurrentRequests: 1, maxQueuedRequests: 1 },
    },
    asr: { degrade: { enabled: false }, partialIntervalSeconds: 0 },
  });
  url = s.server.url;
  port = s.server.port;
  await waitForHealth(url, 200);
}, 300000);
afterAll(() => stopServer(s), 60000);

/** A raw HTTP request with exactly these headers (fetch does not let a caller set Host). */
function request(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text.startsWith('{') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens /v1/stream with these headers: the close code or the HTTP status of the refusal. */
function openStream(headers: Record<string, string>): Promise<{ opened: boolean; status?: number; body?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`, { headers });
    ws.once('open', () => {
      ws.close();
      resolve({ opened: true });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ opened: false, status: res.statusCode, body }));
    });
    ws.once('error', () => undefined);
  });
}

function wavOf(sentences: number[]): Buffer {
  return encodeWav(concatPcm(...sentences.map((i) => concatPcm(synthesizeSpeech(SPEECH_SENTENCES[i % SPEECH_SENTENCES.length]).samples, silence(0.4)))), 16000);
}

function upload(fields: Record<string, string>, wav = wavOf([3]), signal?: AbortSignal): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([wav], { type: 'audio/wav' }), 'a.wav');
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form, signal });
}

describe('Host (DNS rebinding)', () => {
  it('answers the bound names and server.allowedHosts, and refuses any other name with 403 HOST_NOT_ALLOWED', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'echopanel.internal', 'ECHOPANEL.internal.:80']) {
      expect([host, (await request('GET', '/health', { host })).status]).toEqual([host, 200]);
    }
    for (const host of ['attacker.example', `attacker.example:${port}`, '192.168.1.20', 'localhost.attacker.example']) {
      const r = await request('GET', '/health', { host });
      expect([host, r.status]).toEqual([host, 403]);
      expect(r.body.error.code).toBe('HOST_NOT_ALLOWED');
      expect(r.body.error.message).toContain('server.allowedHosts');
    }
  });

  it('refuses a WebSocket upgrade with a foreign Host', async () => {
    const r = await openStream({ host: 'attacker.example' });
    expect(r).toMatchObject({ opened: false, status: 403 });
    expect(JSON.parse(r.body!).error.code).toBe('HOST_NOT_ALLOWED');
  });
});

describe('Origin (foreign web pages)', () => {
  it('a WebSocket from a foreign origin is 403 ORIGIN_NOT_ALLOWED; same origin, corsOrigins and no Origin open', async () => {
    for (const origin of ['http://evil.example', 'null', `http://localhost:${port + 1}`]) {
      const r = await openStream({ origin });
      expect([origin, r.opened, r.status]).toEqual([origin, false, 403]);
      expect(JSON.parse(r.body!).error.code).toBe('ORIGIN_NOT_ALLOWED');
    }
    expect(await openStream({ origin: `http://127.0.0.1:${port}` })).toEqual({ opened: true });
    expect(await openStream({ origin: 'http://app.example' })).toEqual({ opened: true });
    expect(await openStream({})).toEqual({ opened: true });
  });

  it('a POST from a foreign origin is 403 before anything is read; reads stay readable (CORS governs them)', async () => {
    const wav = wavOf([3]);
    const boundary = 'xyz';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`),
      wav,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const headers = (origin?: string) => ({ 'content-type': `multipart/form-data; boundary=${boundary}`, ...(origin ? { origin } : {}) });
    const evil = await request('POST', '/v1/audio/transcriptions', headers('http://evil.example'), body);
    expect(evil.status).toBe(403);
    expect(evil.body.error.code).toBe('ORIGIN_NOT_ALLOWED');
    for (const origin of [undefined, `http://127.0.0.1:${port}`, 'http://app.example']) {
      const ok = await request('POST', '/v1/audio/transcriptions', headers(origin), body);
      expect([origin, ok.status]).toEqual([origin, 200]);
      expect(ok.body.text.toLowerCase()).toContain('small computer');
    }
    expect((await request('GET', '/health', { origin: 'http://evil.example' })).status).toBe(200);
  }, 120000);
});

describe('language and field limits', () => {
  it('upload: an unknown code is 400 listing the valid ones; a language the .en model cannot speak is 400 saying so; long fields are refused', async () => {
    const unknown = await upload({ language: 'xx' });
    expect(unknown.status).toBe(400);
    const u = (await unknown.json()) as { error: { code: string; message: string; param: string } };
    expect(u.error).toMatchObject({ code: 'INVALID_REQUEST', param: 'language' });
    expect(u.error.message).toMatch(/"xx" is not a language code; use one of en, zh, de, es, .*yue/);

    const fr = await upload({ language: 'fr' });
    expect(fr.status).toBe(400);
    const f = (await fr.json()) as { error: { code: string; message: string } };
    expect(f.error.code).toBe('UNSUPPORTED_LANGUAGE');
    expect(f.error.message).toMatch(/does not speak "fr"; it speaks en .*multilingual/);

    const huge = await upload({ language: 'e'.repeat(60 * 1024) });
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as { error: { message: string } }).error.message).toBe('language is 61440 characters long; at most 16 are accepted');
    const prompt = await upload({ prompt: 'p'.repeat(3000) });
    expect(prompt.status).toBe(400);
    expect(((await prompt.json()) as { error: { param: string } }).error.param).toBe('prompt');

    const en = await upload({ language: 'EN', response_format: 'verbose_json' });
    expect(en.status).toBe(200);
  }, 120000);

  it('stream: the start message is checked by the same rules', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ language: 'xx' }, 'INVALID_REQUEST', /"xx" is not a language code; use one of en, zh/],
      [{ language: 'fr' }, 'UNSUPPORTED_LANGUAGE', /does not speak "fr"/],
      [{ language: 'e'.repeat(60 * 1024) }, 'INVALID_MESSAGE', /language/],
      [{ prompt: 'p'.repeat(3000) }, 'INVALID_MESSAGE', /prompt/],
    ];
    for (const [fields, code, message] of cases) {
      const c = new StreamClient(`${url}/v1/stream`);
      await c.opened;
      c.send({ type: 'start', ...fields });
      const err = await c.waitType('error');
      expect([code, err.code]).toEqual([code, code]);
      expect(err.message).toMatch(message);
      if (code !== 'INVALID_MESSAGE') expect((await c.closed).code).toBe(1003);
      c.ws.close();
    }
    const ok = new StreamClient(`${url}/v1/stream`);
    await ok.opened;
    ok.send({ type: 'start', language: 'EN' });
    await ok.waitType('ready');
    ok.ws.close();
  }, 60000);
});

describe('WebSocket payload cap', () => {
  it('a frame over the cap closes with 1009 and a reason (not 1006)', async () => {
    const c = new StreamClient(`${url}/v1/stream`);
    await c.opened;
    c.send({ type: 'start' });
    await c.waitType('ready');
    c.sendPcm(Buffer.alloc(2 * 1024 * 1024));
    const closed = await c.closed;
    expect(closed).toEqual({ code: 1009, reason: 'frame too large' });
    expect(c.ofType('error').at(-1)).toMatchObject({ code: 'FRAME_TOO_LARGE', message: expect.stringContaining('at most 8000 bytes') });
  }, 30000);
});

/** An upload whose client sends the headers now and the body only on finish(): it holds its place (running or queued) meanwhile. */
function slowUpload(): { finish(): Promise<{ status: number; body: any }>; abort(): void } {
  const boundary = 'slow';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`),
    wavOf([3]),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  let settle!: (r: { status: number; body: any }) => void;
  const response = new Promise<{ status: number; body: any }>((resolve) => (settle = resolve));
  const req = http.request(
    { host: '127.0.0.1', port, method: 'POST', path: '/v1/audio/transcriptions', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length } },
    (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => settle({ status: res.statusCode!, body: JSON.parse(text) }));
    },
  );
  req.on('error', () => undefined);
  req.flushHeaders();
  return {
    finish: () => {
      req.end(body);
      return response;
    },
    abort: () => req.destroy(),
  };
}

describe('admission control', () => {
  it('bounds the queue: past it 429 with Retry-After; depth in /health and /metrics; a client that leaves its place frees it', async () => {
    const queue = async () => ((await (await fetch(`${url}/health`)).json()) as { queue: { running: number; queued: number } }).queue;
    const until = async (want: { running: number; queued: number }) => {
      const deadline = Date.now() + 20000;
      for (let q = await queue(); q.running !== want.running || q.queued !== want.queued; q = await queue()) {
        if (Date.now() > deadline) throw new Error(`queue stayed ${JSON.stringify(q)}, expected ${JSON.stringify(want)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const a = slowUpload();
    await until({ running: 1, queued: 0 });
    // A queued client that gives up leaves the queue.
    const leaving = slowUpload();
    await until({ running: 1, queued: 1 });
    leaving.abort();
    await until({ running: 1, queued: 0 });

    const b = slowUpload();
    await until({ running: 1, queued: 1 });
    const m = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
    expect(m.get('echopanel_transcription_queue{state="running"}')).toBe(1);
    expect(m.get('echopanel_transcription_queue{state="queued"}')).toBe(1);

    const c = await upload({}, wavOf([3]));
    expect(c.status).toBe(429);
    expect(Number(c.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await c.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('TOO_MANY_REQUESTS');
    expect(body.error.message).toMatch(/1 transcriptions running and 1 queued/);

    const ra = await a.finish();
    expect(ra.status).toBe(200);
    await until({ running: 1, queued: 0 }); // b took a's slot
    const rb = await b.finish();
    expect(rb.status).toBe(200);
    expect(rb.body.text.toLowerCase()).toContain('small computer');
    await until({ running: 0, queued: 0 });
    const after = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
    expect(after.get('echopanel_transcription_refused_total')).toBe(1);
  }, 180000);
});
