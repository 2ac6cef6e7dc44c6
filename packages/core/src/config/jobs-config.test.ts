import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from './load-config.js';

// `jobs.*`: the in-process queue by default; Redis needs a URL it can use and a storage directory replicas share.
const cwd = mkdtempSync(path.join(os.tmpdir(), 'echopanel-jobs-config-'));

it('defaults to the in-process queue, one job at a time', async () => {
  const { config } = await loadConfig({ cwd, env: {} });
  expect(config.jobs).toEqual({ enabled: true, concurrency: 1, retainSeconds: 86400, attempts: 3, backoffMs: 2000, stalledSeconds: 30, callbackAttempts: 5 });
  expect(config.server.drainDelayMs).toBe(0);
});

it('takes the Redis URL, storage directory and concurrency from the environment', async () => {
  const env = { ECHOPANEL_REDIS_URL: 'redis://:secret@redis:6379/2', ECHOPANEL_JOBS_DIR: '/srv/jobs', ECHOPANEL_JOBS_CONCURRENCY: '2' };
  const { config } = await loadConfig({ cwd, env });
  expect(config.jobs).toMatchObject({ redisUrl: 'redis://:secret@redis:6379/2', storageDir: '/srv/jobs', concurrency: 2 });
});

it.each([
  [{ redisUrl: 'redis://127.0.0.1:6379' }, /jobs\.storageDir: jobs\.storageDir is required with jobs\.redisUrl/],
  [{ redisUrl: 'http://127.0.0.1:6379', storageDir: '/x' }, /jobs\.redisUrl: must be a redis:\/\/ or rediss:\/\/ URL/],
  [{ concurrency: 0 }, /jobs\.concurrency/],
  [{ storageDir: '' }, /jobs\.storageDir/],
  [{ retries: 3 }, /jobs\.retries: unknown key/],
])('refuses %j with INVALID_CONFIG naming the path', async (jobs, message) => {
  await expect(loadConfig({ cwd, env: {}, inline: { jobs } })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(message) });
});
