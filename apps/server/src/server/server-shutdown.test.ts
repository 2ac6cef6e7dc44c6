/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// Shutdown: SIGTERM to a real `echopanel serve` process during a stream, and the same path in-process with a
// grace period too short to finish.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { concatPcm, silence, SPEECH_SENTENCES, synthesizeSpeech, wordErrorRate } from '@echopanel/plugin-testkit';
import { REPO_ROOT } from './__fixtures__/real-engine.js';
import { StreamClient } from './__fixtures__/ws-client.js';
import { stopServer, testEnv, testServer, waitForHealth } from './__fixtures__/test-server.js';

const BIN = path.join(REPO_ROOT, 'apps/server/dist/bin/echopanel.js');
const speech = (i: number) => synthesizeSpeech(SPEECH_SENTENCES[i]).samples;

describe('SIGTERM during a stream (echopanel serve as a child process)', () => {
  // Inside the repository so the default import map resolves the first-party plugins from its node_modules.
  const dir = path.join(REPO_ROOT, 'node_modules/.cache', `echopanel-shutdown-test-${process.pid}`);
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes the stream (finals, done), refuses new work, unloads the model and exits 0', async () => {
    expect(existsSync(BIN)).toBe(true); // built by the test target's dependency on build (npx tsc -b apps/server)
    mkdirSync(dir, { recursive: true });
    const configFile = path.join(dir, 'echopanel.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        server: { shutdownGraceMs: 60000 },
        asr: { provider: 'faster-whisper', degrade: { enabled: false } },
        providers: { 'faster-whisper': { model: 'tiny.en', beamSize: 1 } },
      }),
    );
    child = spawn(process.execPath, [BIN, 'serve', '--config', configFile, '--host', '127.0.0.1', '--port', '0'], {
      env: { ...testEnv(), ECHOPANEL_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/[^\s]+)/.exec(out);
        if (m) resolve(m[1]);
      });
      void exited.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
    });
    await waitForHealth(url, 200);
    const status = (await (await fetch(`${url}/model-status`)).json()) as { health: { workerPid?: number } };
    const workerPid = status.health.workerPid;
    expect(workerPid).toBeGreaterThan(0);

    const c = new StreamClient(`${url}/v1/stream`);
    await c.opened;
    c.send({ type: 'start', source: 'mic' });
    await c.waitType('ready');
    const pcm = concatPcm(silence(0.3), speech(1), silence(0.6), speech(2), silence(0.6), speech(3), silence(0.5));
    await c.stream(pcm);
    // No "stop": the server is told to go away while the audio is still being decoded.
    child.kill('SIGTERM');
    await c.waitType('status');
    // While it drains, new streams are turned away (an error, or no listener at all any more).
    const late = new StreamClient(`${url}/v1/stream`);
    const lateOutcome = await late.opened.then(
      () => late.waitFor((m) => m.type === 'error' || m.type === 'ready', 10000),
      (e: Error) => ({ type: 'refused', message: e.message }),
    );
    expect(lateOutcome.type).not.toBe('ready');
    const done = await c.waitType('done');
    expect((await c.closed).code).toBe(1000);
    // Three sentences, so the bound sits over more than 40 words: greedy tiny.en measured 12.2 % (5/41).
    const w = wordErrorRate(SPEECH_SENTENCES.slice(1).join(' '), c.finalText());
    expect(w.referenceWords).toBeGreaterThanOrEqual(40);
    expect(w.wer).toBeLessThanOrEqual(0.3);
    const stats = done.stats as Record<string, number>;
    expect(stats.received_samples).toBe(pcm.length);
    expect(stats.dropped_samples).toBe(0);
    expect(stats.transcribed_samples + stats.silence_samples).toBe(pcm.length);
    expect(await exited).toBe(0);
    // The model's worker went with it.
    expect(() => process.kill(workerPid!, 0)).toThrow();
    await expect(fetch(`${url}/health/live`)).rejects.toThrow();
  }, 300000);
});

describe('graceful close in-process', () => {
  let s: Awaited<ReturnType<typeof testServer>>;
  beforeAll(async () => {
    s = await testServer({ asr: { degrade: { enabled: false }, partialIntervalSeconds: 0 } });
    await waitForHealth(s.server.url, 200);
  }, 300000);
  afterAll(() => stopServer(s), 60000);

  it('past the grace period, undecoded audio is dropped (counted, with the reason) and done still comes; the model is unloaded', async () => {
    const c = new StreamClient(`${s.server.url}/v1/stream`);
    await c.opened;
    c.send({ type: 'start' });
    await c.waitType('ready');
    const pcm = concatPcm(...[0, 1, 2, 3, 0, 1, 2, 3].map((i) => concatPcm(speech(i), silence(0.5))));
    await c.stream(pcm);
    await new Promise((r) => setTimeout(r, 200));
    await s.server.close({ graceMs: 300 });
    const done = await c.waitType('done');
    expect(c.ofType('error').some((e) => e.code === 'SHUTTING_DOWN')).toBe(true);
    const stats = done.stats as Record<string, number> & { drop_reasons: Record<string, number> };
    expect(stats.received_samples).toBe(pcm.length);
    expect(stats.transcribed_samples + stats.silence_samples + stats.dropped_samples).toBe(pcm.length);
    expect(stats.drop_reasons['server shutting down']).toBeGreaterThan(0);
    expect(s.server.engine.manager.state).toBe('UNINITIALIZED');
    // Closed servers refuse connections.
    await expect(fetch(`${s.server.url}/health/live`)).rejects.toThrow();
  });
});
