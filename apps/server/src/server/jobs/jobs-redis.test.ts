import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import { projectDir, startServe, type ServeProcess } from '../../cli/__fixtures__/cli-process.js';
import { TEST_PYTHON } from '../__fixtures__/real-engine.js';
import { jobsApiCases, longSpeech } from './__fixtures__/jobs-api-cases.js';
import { JobsClient } from './__fixtures__/jobs-client.js';
import { startRedis, type RedisProcess } from './__fixtures__/redis-process.js';

// Two `echopanel serve` replicas on one real redis-server (BullMQ), sharing a job audio directory.
const API_KEY = 'jobs-redis-key';
let redis: RedisProcess;
let storageDir: string;
let dir: string;
const servers: ServeProcess[] = [];
const clients: JobsClient[] = [];

async function startReplica(cwd = dir, env: Record<string, string> = {}): Promise<{ server: ServeProcess; client: JobsClient }> {
  const server = await startServe(cwd, ['--config', 'echopanel.config.json'], { ECHOPANEL_PYTHON: TEST_PYTHON, ECHOPANEL_ALLOW_DOWNLOAD: 'false', ...env });
  servers.push(server);
  const client = new JobsClient(server.url, API_KEY);
  clients.push(client);
  const deadline = Date.now() + 180_000;
  while ((await client.request('GET', '/health/ready').catch(() => ({ status: 0 }))).status !== 200) {
    if (Date.now() > deadline) throw new Error(`replica ${server.url} never became ready`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { server, client };
}

let config: Record<string, unknown>;

beforeAll(async () => {
  redis = await startRedis();
  storageDir = mkdtempSync(path.join(os.tmpdir(), 'echopanel-jobs-'));
  config = {
    server: { apiKey: API_KEY, drainDelayMs: 3000 },
    // The degrade ladder off: on a busy machine it retunes the engine mid-test, and results are compared exactly.
    asr: { provider: 'faster-whisper', degrade: { enabled: false } },
    providers: { 'faster-whisper': { model: 'tiny.en', beamSize: 1 } },
    // A killed replica's job is taken over after ~2 s (jobs.stalledSeconds) rather than the default 30.
    jobs: { redisUrl: redis.url, storageDir, stalledSeconds: 2, backoffMs: 300, attempts: 4 },
  };
  dir = projectDir({ 'echopanel.config.json': JSON.stringify(config) });
  await Promise.all([startReplica(), startReplica()]);
}, 240_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await redis?.stop();
  rmSync(storageDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

jobsApiCases(() => ({ clients, apiKey: API_KEY, storageDir, queue: 'redis' }));

it('10 jobs spread over both replicas give what the synchronous endpoint gives', async () => {
  const speech = ['en-us', 'en-gb', 'en-us+f3'].flatMap((voice) => SPEECH_SENTENCES.map((s) => synthesizeSpeech(s, { voice }).wavPath)).slice(0, 10);
  const posted = await Promise.all(speech.map((wav, i) => clients[i % 2].submit(wav)));
  expect(posted.map((p) => p.status)).toEqual(speech.map(() => 202));
  const done = await Promise.all(posted.map((p, i) => clients[(i + 1) % 2].finished(p.body.id)));
  expect(done.map((j) => j.status)).toEqual(speech.map(() => 'completed'));
  expect(new Set(done.map((j) => j.processed_by)).size).toBe(2);
  for (let i = 0; i < speech.length; i++) {
    const sync = await clients[i % 2].transcribe(speech[i]);
    expect({ i, result: done[i].result }).toEqual({ i, result: JSON.parse(sync.text) });
  }
});

it('a replica SIGKILLed mid-job: the other one takes the job over and completes it', async () => {
  const posted = await clients[0].submit(longSpeech(40));
  const { id } = posted.body;
  const active = await clients[0].waitFor(id, (j) => j.status === 'active' && j.processed_by !== undefined);
  const victim = servers.findIndex((s) => active.processed_by?.endsWith(`:${s.pid}`));
  expect(victim).toBeGreaterThanOrEqual(0);
  const survivor = 1 - victim;
  const killed = await servers[victim].signal('SIGKILL');
  expect(killed.code).toBeNull();
  const done = await clients[survivor].finished(id, 120_000);
  expect(done).toMatchObject({ status: 'completed', processed_by: expect.stringMatching(new RegExp(`:${servers[survivor].pid}$`)) });
  expect(done.attempts).toBeGreaterThanOrEqual(2);
  expect(JSON.stringify(done.result)).toMatch(/station/i);
  // The rest of the file runs on the survivor alone.
  servers.splice(victim, 1);
  clients.splice(victim, 1);
});

it('a transient failure on one replica (FFmpeg missing there) is retried after the backoff, on a healthy one', async () => {
  // A replica without FFmpeg, whose jobs wait 4 s before a retry (the backoff is set by the replica taking the POST).
  const brokenDir = projectDir({ 'echopanel.config.json': JSON.stringify({ ...config, jobs: { ...(config.jobs as object), backoffMs: 4000 } }) });
  const broken = await startReplica(brokenDir, { ECHOPANEL_FFMPEG: path.join(brokenDir, 'no-such-ffmpeg') });
  const healthy = servers[0];
  try {
    // Only the broken replica takes the first try.
    process.kill(healthy.pid, 'SIGSTOP');
    const posted = await broken.client.submit(synthesizeSpeech(SPEECH_SENTENCES[2]).wavPath);
    const retrying = await broken.client.waitFor(posted.body.id, (j) => j.status === 'queued' && j.attempts >= 1);
    expect(retrying).toMatchObject({ attempts: 1, error: { code: 'DECODER_UNAVAILABLE' }, processed_by: expect.stringMatching(new RegExp(`:${broken.server.pid}$`)) });
    // Within the backoff the broken replica leaves and the healthy one comes back: the retry is its.
    process.kill(broken.server.pid, 'SIGSTOP');
    process.kill(healthy.pid, 'SIGCONT');
    const done = await clients[0].finished(posted.body.id);
    expect(done).toMatchObject({ status: 'completed', attempts: 2, processed_by: expect.stringMatching(new RegExp(`:${healthy.pid}$`)), result: { text: expect.stringMatching(/station/i) } });
  } finally {
    process.kill(healthy.pid, 'SIGCONT');
    process.kill(broken.server.pid, 'SIGCONT');
    await broken.server.stop();
    servers.splice(servers.indexOf(broken.server), 1);
    clients.splice(clients.indexOf(broken.client), 1);
    rmSync(brokenDir, { recursive: true, force: true });
  }
});

it('Redis gone: the jobs API answers 503 JOBS_UNAVAILABLE at once (no hanging request); the replica stays ready for the rest', async () => {
  await redis.stop();
  const [client] = clients;
  const deadline = Date.now() + 10_000;
  let r = await client.request('GET', '/v1/jobs');
  while (r.status === 200 && Date.now() < deadline) r = await client.request('GET', '/v1/jobs');
  expect(r).toMatchObject({ status: 503, body: { error: { code: 'JOBS_UNAVAILABLE', message: expect.stringMatching(/not connected/) } } });
  const posted = await client.submit(synthesizeSpeech(SPEECH_SENTENCES[0]).wavPath);
  // Refused up front for the lost connection, not after waiting for an answer.
  expect(posted).toMatchObject({ status: 503, body: { error: { code: 'JOBS_UNAVAILABLE', message: expect.stringMatching(/not connected/) } } });
  expect((await client.request('GET', '/health/ready')).status).toBe(200);
});

it('SIGTERM: /health/ready answers 503 (with why) while the replica still serves, then it drains and exits 0', async () => {
  const [server] = servers;
  const [client] = clients;
  expect((await client.request('GET', '/health/ready')).status).toBe(200);
  const stopped = server.signal('SIGTERM');
  const deadline = Date.now() + 2000;
  let ready = await client.request('GET', '/health/ready');
  while (ready.status === 200 && Date.now() < deadline) ready = await client.request('GET', '/health/ready');
  expect(ready).toMatchObject({ status: 503, body: { status: 'not_ready', reasons: [expect.stringMatching(/shutting down/)] } });
  // Within server.drainDelayMs the replica still answers work that reaches it.
  expect((await client.request('GET', '/v1/models')).status).toBe(200);
  expect((await stopped).code).toBe(0);
  servers.splice(0, 1);
});
