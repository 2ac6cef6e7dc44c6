// `echopanel serve` as a child process: SIGHUP reloads the config file (the file watch is off here).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { TEST_PYTHON } from '../server/__fixtures__/real-engine.js';
import { poll, projectDir, startServe, type ServeProcess } from './__fixtures__/cli-process.js';

function config(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    asr: { provider: 'faster-whisper' },
    providers: { 'faster-whisper': { model: 'tiny.en', beamSize: 1 } },
    server: { reload: { watch: false } },
    ...extra,
  });
}

const dir = projectDir({ 'echopanel.config.json': config() });
const file = path.join(dir, 'echopanel.config.json');
let serve: ServeProcess;

beforeAll(async () => {
  serve = await startServe(dir, ['--host', '127.0.0.1'], { ECHOPANEL_PYTHON: TEST_PYTHON, ECHOPANEL_ALLOW_DOWNLOAD: 'false' });
}, 120000);
afterAll(async () => {
  const { code } = await serve.stop();
  expect(code).toBe(0);
}, 60000);

const configStatus = (done: (c: Record<string, any>) => boolean) =>
  poll(`${serve.url}/model-status`, (r) => r.status === 200 && done((r.body as Record<string, any>).config), 60000).then(
    (r) => (r.body as Record<string, any>).config as Record<string, any>,
  );

it('SIGHUP reloads: a valid edit is taken (revision 2), an invalid one is rejected with its file and error', async () => {
  expect(await configStatus(() => true)).toMatchObject({ file, revision: 1, watching: [] });
  writeFileSync(file, config({ server: { reload: { watch: false }, limits: { maxSessions: 4 } } }));
  process.kill(serve.pid, 'SIGHUP');
  const applied = await configStatus((c) => c.revision === 2);
  expect(applied.lastReload).toMatchObject({ trigger: 'SIGHUP', result: 'applied', restartRequired: [{ path: 'server.limits.maxSessions' }] });

  writeFileSync(file, '{ "asr": { "provider": "faster-whisper" }, ');
  process.kill(serve.pid, 'SIGHUP');
  const rejected = await configStatus((c) => c.lastReload?.result === 'rejected');
  expect(rejected.revision).toBe(2);
  expect(rejected.lastReload.error).toMatchObject({ code: 'INVALID_CONFIG', file });
  expect(rejected.lastReload.error.message).toMatch(/JSON/i);
  // Still serving.
  expect((await fetch(`${serve.url}/health/live`)).status).toBe(200);
}, 120000);
