/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopServer, testServer, waitForHealth } from '../__fixtures__/test-server.js';
import { SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import { jobsApiCases } from './__fixtures__/jobs-api-cases.js';
import { JobsClient } from './__fixtures__/jobs-client.js';

// Without jobs.redisUrl: the embedded default, an in-process queue behind the same API.
const API_KEY = 'jobs-in-process-key';
let server: Awaited<ReturnType<typeof testServer>> | undefined;
let client: JobsClient;
const storageDir = mkdtempSync(path.join(os.tmpdir(), 'echopanel-jobs-'));

beforeAll(async () => {
  // The degrade ladder off: on a busy machine it retunes the engine mid-test, and results are compared exactly.
  server = await testServer({ server: { apiKey: API_KEY }, asr: { degrade: { enabled: false } }, jobs: { storageDir, backoffMs: 300, attempts: 4 } });
  await waitForHealth(server.server.url, 200, { authorization: `Bearer ${API_KEY}` });
  client = new JobsClient(server.server.url, API_KEY);
});

afterAll(async () => {
  await stopServer(server);
  rmSync(storageDir, { recursive: true, force: true });
});

jobsApiCases(() => ({ clients: [client], apiKey: API_KEY, storageDir, queue: 'in-process' }));

// FFmpeg is found per decode (ECHOPANEL_FFMPEG, read when a job decodes), so this process can lose it for a moment.
it('a transient failure (FFmpeg missing: DECODER_UNAVAILABLE) is retried with backoff until it succeeds', async () => {
  const saved = process.env.ECHOPANEL_FFMPEG;
  process.env.ECHOPANEL_FFMPEG = path.join(storageDir, 'no-such-ffmpeg');
  try {
    const posted = await client.submit(synthesizeSpeech(SPEECH_SENTENCES[2]).wavPath);
    await client.waitFor(posted.body.id, (j) => j.attempts >= 2);
    if (saved === undefined) delete process.env.ECHOPANEL_FFMPEG;
    else process.env.ECHOPANEL_FFMPEG = saved;
    const done = await client.finished(posted.body.id);
    expect(done).toMatchObject({ status: 'completed', result: { text: expect.stringMatching(/station/i) } });
    expect(done.attempts).toBeGreaterThanOrEqual(3);
  } finally {
    if (saved === undefined) delete process.env.ECHOPANEL_FFMPEG;
    else process.env.ECHOPANEL_FFMPEG = saved;
  }
});

it('a transient failure that does not clear fails after jobs.attempts tries, with its code', async () => {
  const saved = process.env.ECHOPANEL_FFMPEG;
  process.env.ECHOPANEL_FFMPEG = path.join(storageDir, 'no-such-ffmpeg');
  try {
    const posted = await client.submit(synthesizeSpeech(SPEECH_SENTENCES[2]).wavPath);
    // jobs.attempts 4 with 0.3, 0.6, 1.2 s between them.
    const done = await client.finished(posted.body.id);
    expect(done).toMatchObject({ status: 'failed', attempts: 4, error: { code: 'DECODER_UNAVAILABLE', message: expect.stringMatching(/ffmpeg|ffprobe/i) } });
  } finally {
    if (saved === undefined) delete process.env.ECHOPANEL_FFMPEG;
    else process.env.ECHOPANEL_FFMPEG = saved;
  }
});
