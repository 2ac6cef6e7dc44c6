/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// Hot reload against a real server: a real `echopanel.config.ts` (importing ./engine.ts) on disk, the file watch,
// and the real engines (faster-whisper tiny.en, then whisper.cpp tiny.en) with Silero VAD.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRuntime, type EchoPanelRuntime } from '@echopanel/core';
import { concatPcm, processExists, RECOGNIZABLE_WER, recordingLogger, silence, SPEECH_SENTENCES, synthesizeSpeech, TranscriptPool } from '@echopanel/plugin-testkit';
import { startServer, type RunningServer } from './start-server.js';
import { REPO_ROOT } from './__fixtures__/real-engine.js';
import { testEnv, waitForHealth } from './__fixtures__/test-server.js';
import { StreamClient } from './__fixtures__/ws-client.js';

const transcripts = new TranscriptPool();
const speech = (i: number) => synthesizeSpeech(SPEECH_SENTENCES[i]).samples;
const dir = mkdtempSync(path.join(os.tmpdir(), 'echopanel-reload-'));
const configFile = path.join(dir, 'echopanel.config.ts');
const engineFile = path.join(dir, 'engine.ts');

/** The config under test: the provider comes from ./engine.ts, so an edit there must be seen too. */
function writeConfig(extra = ''): void {
  writeFileSync(
    configFile,
    `import { engine } from './engine';
export default {
  asr: { provider: engine, warmupLevel: 2, degrade: { enabled: false } },
  providers: { 'faster-whisper': { model: 'tiny.en', beamSize: 1 }, 'whisper-cpp': { model: 'tiny.en', beamSize: 1 } },
  ${extra}
};
`,
  );
}
const writeEngine = (value: string) => writeFileSync(engineFile, `export const engine = ${value};\n`);

const load = () => createRuntime({ configFile, cwd: dir, env: testEnv(), plugins: 'in-use', hostDirs: [path.join(REPO_ROOT, 'apps/server')] });
const runtimes: EchoPanelRuntime[] = [];
const logger = recordingLogger();
let server: RunningServer;
let url: string;

async function json(p: string): Promise<Record<string, any>> {
  return (await (await fetch(`${url}${p}`)).json()) as Record<string, any>;
}

/** Polls `/model-status` until its config status satisfies `done`. */
async function configStatus(done: (c: Record<string, any>) => boolean, timeoutMs = 180000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = (await json('/model-status')).config as Record<string, any>;
    if (done(c)) return c;
    if (Date.now() > deadline) throw new Error(`config status stayed ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function streamOnce(pcm: Int16Array): Promise<{ ready: Record<string, unknown>; client: StreamClient; done: Record<string, any> }> {
  const client = new StreamClient(`${url}/v1/stream`);
  await client.opened;
  client.send({ type: 'start', sample_rate: 16000, encoding: 'pcm_s16le', source: 'mic', language: 'en' });
  const ready = await client.waitType('ready');
  await client.stream(pcm, 1600, 5);
  client.send({ type: 'stop' });
  return { ready, client, done: await client.waitType('done', 180000) };
}

beforeAll(async () => {
  writeEngine(`'faster-whisper'`);
  writeConfig();
  const runtime = await load();
  runtimes.push(runtime);
  server = await startServer({ runtime, host: '127.0.0.1', port: 0, reloadRuntime: load, logger });
  url = server.url;
  await waitForHealth(url, 200);
}, 300000);
afterAll(async () => {
  await server?.close({ graceMs: 5000 });
  await Promise.all(runtimes.map((r) => r.dispose()));
}, 60000);

describe('config hot reload', () => {
  it('watches the config and what it imports; revision 1 at start', async () => {
    const c = await configStatus(() => true);
    expect(c).toMatchObject({ file: configFile, revision: 1, pendingRestart: [] });
    expect(c.watching).toEqual(expect.arrayContaining([configFile, engineFile]));
  });

  it('an edit during a live stream: the stream finishes on faster-whisper with exact accounting, then it unloads; new streams use whisper.cpp', async () => {
    const oldPid = (await json('/model-status')).health.workerPid as number;
    expect(processExists(oldPid)).toBe(true);
    const live = new StreamClient(`${url}/v1/stream`);
    await live.opened;
    live.send({ type: 'start', sample_rate: 16000, encoding: 'pcm_s16le', source: 'mic', language: 'en' });
    expect(await live.waitType('ready')).toMatchObject({ provider: 'faster-whisper' });
    const first = concatPcm(silence(0.3), speech(0), silence(1));
    await live.stream(first, 1600, 5);
    await live.waitType('final');

    writeEngine(`'whisper-cpp'`);
    // The stream goes on while whisper.cpp loads and warms beside faster-whisper.
    const second = concatPcm(speech(1), silence(1));
    await live.stream(second, 1600, 5);
    const c = await configStatus((x) => x.revision === 2);
    expect(c.lastReload).toMatchObject({
      result: 'applied',
      trigger: `watch: ${engineFile}`,
      changed: ['asr.provider'],
      applied: ['asr.provider'],
      restartRequired: [],
      model: { from: 'faster-whisper/tiny.en', to: 'whisper-cpp/tiny.en' },
    });
    expect(c.lastReload.model.loadMs).toBeGreaterThan(0);
    expect(c.lastReload.model.warmupMs).toBeGreaterThan(0);
    expect(await waitForHealth(url, 200)).toMatchObject({ provider: 'whisper-cpp', model: 'tiny.en' });
    // The live stream still holds faster-whisper: its worker is up.
    expect(processExists(oldPid)).toBe(true);

    const third = concatPcm(speech(2), silence(1));
    await live.stream(third, 1600, 5);
    live.send({ type: 'stop' });
    const done = (await live.waitType('done', 180000)).stats as Record<string, number>;
    expect(live.ofType('error')).toEqual([]);
    const total = first.length + second.length + third.length;
    expect(done.received_samples).toBe(total);
    expect(done.transcribed_samples + done.silence_samples + done.dropped_samples).toBe(total);
    expect(done.dropped_samples).toBe(0);
    expect(transcripts.heard(`${SPEECH_SENTENCES[0]} ${SPEECH_SENTENCES[1]} ${SPEECH_SENTENCES[2]}`, live.finalText())).toBeLessThan(RECOGNIZABLE_WER);
    expect((await live.closed).code).toBe(1000);

    // Its last lease gone, faster-whisper unloads: the worker process exits.
    const deadline = Date.now() + 30000;
    while (processExists(oldPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(processExists(oldPid)).toBe(false);

    const next = await streamOnce(concatPcm(silence(0.3), speech(3), silence(1)));
    expect(next.ready).toMatchObject({ provider: 'whisper-cpp', model: 'tiny.en' });
    expect(next.client.ofType('error')).toEqual([]);
    expect(next.done.stats.transcribed_samples + next.done.stats.silence_samples + next.done.stats.dropped_samples).toBe(next.done.stats.received_samples);
    expect(transcripts.heard(SPEECH_SENTENCES[3], next.client.finalText())).toBeLessThan(RECOGNIZABLE_WER);
  }, 300000);

  it('an invalid edit is rejected with the file and the error; the running config stays', async () => {
    writeFileSync(
      configFile,
      `export default { asr: { provder: 'faster-whisper' }, providers: { 'whisper-cpp': { model: 'tiny.en', beamSize: 1 } } };\n`,
    );
    const c = await configStatus((x) => x.lastReload?.result === 'rejected');
    expect(c.revision).toBe(2);
    expect(c.lastReload.error).toMatchObject({ code: 'INVALID_CONFIG', file: configFile });
    expect(c.lastReload.error.message).toContain('asr.provder');
    const logged = logger.lines.filter((l) => l.level === 'error' && l.msg.startsWith('config reload rejected'));
    expect(logged).toHaveLength(1);
    expect(logged[0].msg).toContain(`${configFile}: `);
    expect(logged[0].msg).toContain('asr.provder');
    expect(await waitForHealth(url, 200)).toMatchObject({ provider: 'whisper-cpp' });
  }, 60000);

  it('a bind change is reported as needing a restart and not applied; POST /v1/admin/reload reloads on demand', async () => {
    writeConfig(`server: { port: 1 },`);
    const c = await configStatus((x) => x.revision === 3);
    // ./engine.ts still says whisper-cpp: the model stays, the port is for the next start.
    expect(c.lastReload).toMatchObject({ result: 'applied', restartRequired: [{ path: 'server.port' }] });
    expect(c.lastReload.restartRequired[0].reason).toMatch(/restart/);
    expect(c.lastReload.model).toBeUndefined();
    expect(c.pendingRestart).toEqual([expect.objectContaining({ path: 'server.port' })]);
    expect((await json('/health')).provider).toBe('whisper-cpp');

    const res = await fetch(`${url}/v1/admin/reload`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Record<string, any>).reload).toMatchObject({ result: 'unchanged', trigger: 'api', revision: 3 });
  }, 60000);

  it('POST /v1/admin/reload answers 422 with the reason for an invalid config', async () => {
    writeEngine('42');
    await configStatus((x) => x.lastReload?.result === 'rejected');
    const res = await fetch(`${url}/v1/admin/reload`, { method: 'POST' });
    expect(res.status).toBe(422);
    const body = (await res.json()) as Record<string, any>;
    expect(body.error).toMatchObject({ code: 'INVALID_CONFIG' });
    expect(body.error.message).toContain('asr.provider');
    expect(body.reload).toMatchObject({ result: 'rejected', revision: 3 });
  }, 60000);

  afterAll(() => {
    const pooled = transcripts.pooled();
    expect(pooled.referenceWords).toBeGreaterThanOrEqual(40);
    // Measured 10-12 % over these 50 words (tiny.en); 2x margin.
    expect(pooled.wer).toBeLessThan(0.25);
  });
});
