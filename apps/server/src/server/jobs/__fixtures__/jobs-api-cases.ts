import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { encodeWav } from '@echopanel/core';
import { SPEECH_SENTENCES, concatPcm, silence, synthesizeSpeech } from '@echopanel/plugin-testkit';
import { callbackReceiver } from './callback-receiver.js';
import type { JobsClient } from './jobs-client.js';

export interface JobsApiSetup {
  /** The servers under test (jobs may run on any of them). */
  readonly clients: readonly JobsClient[];
  readonly apiKey: string;
  readonly storageDir: string;
  /** What `/capabilities` must say. */
  readonly queue: 'redis' | 'in-process';
}

function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    });
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** Speech of about `seconds` (the sentences over and over, short pauses between). */
export function longSpeech(seconds: number): Buffer {
  const parts: Int16Array[] = [];
  let total = 0;
  for (let i = 0; total < seconds * 16000; i++) {
    const s = synthesizeSpeech(SPEECH_SENTENCES[i % SPEECH_SENTENCES.length]).samples;
    parts.push(s, silence(0.4));
    total += s.length + 6400;
  }
  return encodeWav(concatPcm(...parts), 16000);
}

/**
 * The jobs API's behaviour, the same on Redis (BullMQ, two replicas) and on the in-process queue: results as the
 * synchronous endpoint gives them, bad audio failing once with its code, cancel, signed callbacks, paging, errors.
 */
export function jobsApiCases(setup: () => JobsApiSetup): void {
  const client = (i = 0) => setup().clients[i % setup().clients.length];

  it("a job's result is the synchronous endpoint's, in every response format", async () => {
    const wav = synthesizeSpeech(SPEECH_SENTENCES[1]).wavPath;
    const posted = await client().submit(wav, { response_format: 'verbose_json' });
    expect(posted.status).toBe(202);
    expect(posted.body).toMatchObject({ id: expect.any(String), status: expect.stringMatching(/^(queued|active)$/) });
    const done = await client(1).finished(posted.body.id);
    expect(done).toMatchObject({ status: 'completed', progress: 1, attempts: 1, response_format: 'verbose_json' });
    for (const format of ['json', 'text', 'srt', 'vtt', 'verbose_json']) {
      const sync = await client().transcribe(wav, { response_format: format });
      const job = await client(1).get(posted.body.id, `?response_format=${format}`);
      expect({ format, status: job.status, type: job.type, text: job.text }).toEqual({ format, status: 200, type: sync.type, text: sync.text });
    }
    expect(done.result).toEqual(JSON.parse((await client().transcribe(wav, { response_format: 'verbose_json' })).text));
  });

  it('bad audio fails once with its code (no retries), and its result is refused with a code', async () => {
    const posted = await client().submit(Buffer.from('this is not audio at all, just text '.repeat(40)));
    expect(posted.status).toBe(202);
    const failed = await client().finished(posted.body.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'UNSUPPORTED_AUDIO_FORMAT', message: expect.any(String) } });
    // Past the first retry delay (backoffMs 300 in these tests): still one try.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await client().job(posted.body.id)).toMatchObject({ status: 'failed', attempts: 1 });
    const srt = await client().get(posted.body.id, '?response_format=srt');
    expect(srt.status).toBe(409);
    expect(JSON.parse(srt.text).error.code).toBe('JOB_NOT_COMPLETED');
  });

  it('an engine crash mid-job: the engine comes back and the job still completes', async () => {
    const posted = await client().submit(longSpeech(30));
    const { id } = posted.body;
    const active = await client().waitFor(id, (j) => j.status === 'active' && j.processed_by !== undefined);
    // The engine's Python worker under the server that runs the job: killed as an OOM killer would.
    const server = Number(active.processed_by!.split(':').pop());
    const workers = childrenOf(server).filter((pid) => cmdline(pid).includes('worker.py'));
    expect(workers.length).toBeGreaterThan(0);
    for (const pid of workers) process.kill(pid, 'SIGKILL');
    const done = await client().finished(id, 180_000);
    expect(done).toMatchObject({ status: 'completed' });
    expect(JSON.stringify(done.result)).toMatch(/station/i);
  });

  it('DELETE cancels a running job (its audio removed, then 404) and the server goes on taking jobs', async () => {
    const posted = await client().submit(longSpeech(60));
    const { id } = posted.body;
    await client().waitFor(id, (j) => j.status === 'active');
    const del = await client(1).request('DELETE', `/v1/jobs/${id}`);
    expect(del).toMatchObject({ status: 200, body: { id, deleted: true, status: 'cancelled', previous_status: 'active' } });
    expect((await client().get(id)).status).toBe(404);
    expect(JSON.parse((await client().get(id)).text).error.code).toBe('JOB_NOT_FOUND');
    expect((await client().request('DELETE', `/v1/jobs/${id}`)).status).toBe(404);
    expect(existsSync(path.join(setup().storageDir, id))).toBe(false);
    const next = await client().submit(synthesizeSpeech(SPEECH_SENTENCES[3]).wavPath);
    expect(await client().finished(next.body.id)).toMatchObject({ status: 'completed' });
  });

  it('callback_url gets the result in a POST signed with an HMAC of the API key, retried after a failure', async () => {
    const receiver = await callbackReceiver(1);
    try {
      const posted = await client().submit(synthesizeSpeech(SPEECH_SENTENCES[2]).wavPath, { callback_url: receiver.url });
      const done = await client().finished(posted.body.id);
      const deadline = Date.now() + 30_000;
      while (receiver.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(receiver.attempts()).toBe(2);
      const [hook] = receiver.received;
      const timestamp = String(hook.headers['x-echopanel-timestamp']);
      const expected = `sha256=${createHmac('sha256', setup().apiKey).update(`${timestamp}.${hook.body}`).digest('hex')}`;
      expect(hook.headers['x-echopanel-signature']).toBe(expected);
      expect(JSON.parse(hook.body)).toEqual(done);
      expect(JSON.parse(hook.body)).toMatchObject({ id: posted.body.id, status: 'completed', result: { text: expect.stringMatching(/station/i) } });
    } finally {
      await receiver.close();
    }
  });

  it('bad requests are 4xx with a code, never a 5xx, and leave no audio behind', async () => {
    const wav = synthesizeSpeech(SPEECH_SENTENCES[3]).wavPath;
    const cases: Array<[Promise<{ status: number; body: unknown }>, number, string]> = [
      [client().submit(wav, { response_format: 'mp3' }), 400, 'INVALID_REQUEST'],
      [client().submit(wav, { callback_url: 'ftp://example.org/x' }), 400, 'INVALID_REQUEST'],
      [client().submit(wav, { language: 'xx-not-a-language' }), 400, 'INVALID_REQUEST'],
      [client().request('GET', '/v1/jobs/no-such-job'), 404, 'JOB_NOT_FOUND'],
      [client().request('DELETE', '/v1/jobs/no-such-job'), 404, 'JOB_NOT_FOUND'],
      [client().request('GET', '/v1/jobs?limit=0'), 400, 'INVALID_REQUEST'],
      [client().request('GET', '/v1/jobs?offset=-1'), 400, 'INVALID_REQUEST'],
    ];
    for (const [pending, status, code] of cases) {
      const r = await pending;
      expect({ status: r.status, code: (r.body as { error?: { code?: string } }).error?.code }).toEqual({ status, code });
    }
    const noFile = await fetch(`${client().url}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${setup().apiKey}` }, body: new FormData() });
    expect(noFile.status).toBe(400);
    const unauthorized = await fetch(`${client().url}/v1/jobs`);
    expect(unauthorized.status).toBe(401);
    const before = (await client().request('GET', '/v1/jobs?limit=100')).body.data as Array<{ id: string }>;
    const known = new Set(before.map((j) => j.id));
    expect(readdirSync(setup().storageDir).filter((d) => !known.has(d))).toEqual([]);
  });

  it('GET /v1/jobs pages newest first', async () => {
    const all = await client().request('GET', '/v1/jobs?limit=100');
    const total = all.body.total as number;
    expect(total).toBeGreaterThanOrEqual(3);
    const page = await client(1).request('GET', '/v1/jobs?limit=2');
    expect(page.body).toMatchObject({ object: 'list', offset: 0, limit: 2, total, has_more: true });
    const second = await client().request('GET', '/v1/jobs?offset=1&limit=1');
    expect((second.body.data as unknown[])[0]).toMatchObject({ id: (page.body.data as Array<{ id: string }>)[1].id });
    const created = (all.body.data as Array<{ created_at: string }>).map((j) => j.created_at);
    expect(created).toEqual([...created].sort().reverse());
  });

  it('/capabilities says which queue runs the jobs', async () => {
    const caps = await client().request('GET', '/capabilities');
    expect(caps.body.jobs).toMatchObject({ enabled: true, queue: setup().queue, shared: setup().queue === 'redis' });
  });
}
