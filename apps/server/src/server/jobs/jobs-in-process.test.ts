/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopServer, testServer, waitForHealth } from '../__fixtures__/test-server.js';
import { jobsApiCases } from './__fixtures__/jobs-api-cases.js';
import { JobsClient } from './__fixtures__/jobs-client.js';

// Without jobs.redisUrl: the embedded default, an in-process queue behind the same API.
const API_KEY = 'jobs-in-process-key';
let server: Awaited<ReturnType<typeof testServer>> | undefined;
let client: JobsClient;
const storageDir = mkdtempSync(path.join(os.tmpdir(), 'echopanel-jobs-'));

beforeAll(async () => {
  server = await testServer({ server: { apiKey: API_KEY }, jobs: { storageDir, backoffMs: 200 } });
  await waitForHealth(server.server.url, 200, { authorization: `Bearer ${API_KEY}` });
  client = new JobsClient(server.server.url, API_KEY);
});

afterAll(async () => {
  await stopServer(server);
  rmSync(storageDir, { recursive: true, force: true });
});

jobsApiCases(() => ({ clients: [client], apiKey: API_KEY, storageDir, queue: 'in-process' }));
