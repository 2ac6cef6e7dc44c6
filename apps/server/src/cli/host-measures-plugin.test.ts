// The host measures; the plugin transcribes: a third-party plugin written to the minimal contract (no health(),
// no accounting events) in a real `echopanel serve`, outside the workspace.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { concatPcm, echoProviderSource, linkPeer, silence, SPEECH_SENTENCES, synthesizeSpeech, TranscriptPool, writePluginPackage, type EchoProviderOptions } from '@echopanel/plugin-testkit';
import { TEST_PYTHON } from '../server/__fixtures__/real-engine.js';
import { StreamClient, type ServerMessage } from '../server/__fixtures__/ws-client.js';
import { poll, projectDir, startServe, type ServeProcess } from './__fixtures__/cli-process.js';

/** `done`'s stats as the wire has them. */
interface Stats {
  received_samples: number;
  transcribed_samples: number;
  silence_samples: number;
  dropped_samples: number;
  drop_reasons?: Record<string, number>;
}

/** A project outside the repository whose provider is the acme plugin (and `config` on top). */
function project(plugin: EchoProviderOptions, config: Record<string, unknown> = {}): string {
  const dir = projectDir();
  linkPeer(dir, '@echopanel/core');
  writePluginPackage(dir, { name: '@acme/echopanel-provider-echo', source: echoProviderSource(plugin) });
  const asr = { provider: 'acme-echo', warmupLevel: 1, ...(config.asr as object) };
  writeFileSync(
    path.join(dir, 'echopanel.config.json'),
    JSON.stringify({ ...config, asr, plugins: { 'acme-echo': '@acme/echopanel-provider-echo' }, providers: { 'acme-echo': { prefix: 'X' }, ...(config.providers as object) } }),
  );
  return dir;
}

async function serve(dir: string): Promise<ServeProcess> {
  const server = await startServe(dir, ['--host', '127.0.0.1'], { ECHOPANEL_PYTHON: TEST_PYTHON, ECHOPANEL_ALLOW_DOWNLOAD: 'false' });
  const health = await poll(`${server.url}/health`, (r) => r.status === 200, 120_000);
  expect(health.status).toBe(200);
  return server;
}

/** Streams `pcm` in 100 ms frames, `realTime` paced like a live microphone; resolves with `done` and the messages. */
async function stream(url: string, pcm: Int16Array, realTime: boolean): Promise<{ stats: Stats; messages: ServerMessage[]; client: StreamClient }> {
  const c = new StreamClient(`${url}/v1/stream`);
  await c.opened;
  c.send({ type: 'start', source: 'mic' });
  await c.waitType('ready');
  await c.stream(pcm, 1600, realTime ? 100 : 0);
  c.send({ type: 'stop' });
  const done = await c.waitType('done', 600_000);
  c.ws.close();
  return { stats: done.stats as Stats, messages: c.messages, client: c };
}

function expectExact(stats: Stats, samples: number): void {
  expect(stats.received_samples).toBe(samples);
  expect(stats.transcribed_samples + stats.silence_samples + stats.dropped_samples).toBe(samples);
  expect(Object.keys(stats.drop_reasons ?? {}).join(' ')).not.toMatch(/did not account/);
}

/** The server's log records about a plugin's health() report. */
function healthWarnings(server: ServeProcess): Array<{ level: number; provider: string; problem: string; msg: string }> {
  return server
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; provider: string; problem: string; msg: string; component?: string })
    .filter((r) => r.component === 'provider-health')
    .map(({ level, provider, problem, msg }) => ({ level, provider, problem, msg }));
}

const json = async (url: string) => (await fetch(url)).json() as Promise<Record<string, any>>;

describe('a plugin with only defineProvider, load, unload, availability and transcribe, in echopanel serve', () => {
  const servers: ServeProcess[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it('answers /health, /metrics and /model-status with host-measured RTF, latency and exact accounting', async () => {
    const server = await serve(project({}));
    servers.push(server);
    const tone = new Int16Array(48000).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000)));
    const { stats, messages } = await stream(server.url, tone, false);
    expectExact(stats, tone.length);
    expect(stats.dropped_samples).toBe(0);
    expect(messages.filter((m) => m.type === 'final')).toHaveLength(30);

    const status = await json(`${server.url}/model-status`);
    expect(status.status).toBe('ok');
    const h = status.health;
    expect(h).toMatchObject({ provider: 'acme-echo', state: 'READY', modelResident: true, consecutiveErrors: 0 });
    // Measured by the host around transcribe: 30 finals, busy time against 3 s of audio (an echo is far faster than real time).
    expect(h.inferences).toBe(30);
    expect(h.rtf).toBeGreaterThan(0);
    expect(h.rtf).toBeLessThan(0.5);
    expect(h.p95InferMs).toBeGreaterThanOrEqual(h.p50InferMs);
    expect(h.sessions).toMatchObject({ active: 0, total: 1, receivedSamples: 48000, transcribedSamples: 48000, droppedSamples: 0 });
    expect(status.streams).toMatchObject({ receivedSamples: 48000, transcribedSamples: 48000, droppedSamples: 0 });

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^echopanel_rtf \d/m);
    expect(metrics).toMatch(/^echopanel_samples_total\{outcome="transcribed"\} 48000$/m);
    expect(metrics).toMatch(/^echopanel_degrade_level 0$/m);
    const { code, stderr } = await server.stop();
    servers.splice(servers.indexOf(server), 1);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    // No health() at all is nothing to warn about.
    expect(healthWarnings(server)).toEqual([]);
  }, 180_000);

  it('3× slower than real time: the host measures RTF ≈ 3 and the degrade ladder moves; a throwing health() is logged once and ignored', async () => {
    const server = await serve(project({ slowFactor: 3, health: 'throws' }));
    servers.push(server);
    // 2 s of audio at real time: the plugin takes ~6 s; the ladder ticks every second while it works.
    const tone = new Int16Array(32000).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000)));
    const { stats } = await stream(server.url, tone, true);
    expectExact(stats, tone.length);
    const status = await poll(`${server.url}/model-status`, (r) => (r.body as any)?.health?.degrade?.level !== 'NORMAL', 30_000);
    const h = (status.body as any).health;
    console.log(`slow plugin: host-measured rtf ${h.rtf.toFixed(2)}, degrade ${h.degrade.level}, p50 ${h.p50InferMs.toFixed(0)} ms`);
    // Really 3 (a sleep of 3× each frame's duration); bounds with 2× margin either way.
    expect(h.rtf).toBeGreaterThan(1.5);
    expect(h.rtf).toBeLessThan(6);
    expect(h.degrade.level).not.toBe('NORMAL');
    expect(h.degrade.history[0]).toMatchObject({ from: 'NORMAL', rtf: expect.any(Number) });
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(Number(/^echopanel_degrade_level (\d)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    await server.stop();
    servers.splice(servers.indexOf(server), 1);
    expect(healthWarnings(server)).toEqual([
      { level: 40, provider: 'acme-echo', problem: 'threw: acme engine status socket closed', msg: expect.stringMatching(/^provider acme-echo: health\(\) threw: .*; its report is ignored/) },
    ]);
  }, 180_000);

  it('dies mid-stream: fails over to the real faster-whisper with every sample accounted; a garbage health() is logged once', async () => {
    const sentences = SPEECH_SENTENCES.slice(1, 4);
    const dir = project(
      { failAfterSeconds: 0.5, health: 'garbage' },
      { asr: { fallback: 'faster-whisper' }, providers: { 'faster-whisper': { model: 'tiny.en', beamSize: 1, chunkSeconds: 15 } } },
    );
    const server = await serve(dir);
    servers.push(server);
    const pcm = concatPcm(silence(1), ...sentences.flatMap((s) => [synthesizeSpeech(s).samples, silence(0.8)]));
    const { stats, client } = await stream(server.url, pcm, false);
    expectExact(stats, pcm.length);
    // Nothing lost: the frame the plugin died on and everything after it were replayed to faster-whisper.
    expect(stats.dropped_samples).toBe(0);
    const transcripts = new TranscriptPool();
    const heard = client.finalText().replace(/X: \d+ samples/g, '');
    transcripts.heard(sentences.join(' '), heard);
    const pooled = transcripts.pooled();
    console.log(`failover from acme-echo: pooled WER ${(pooled.wer * 100).toFixed(1)} % over ${pooled.referenceWords} words`);
    expect(pooled.referenceWords).toBeGreaterThanOrEqual(40);
    expect(pooled.wer).toBeLessThan(0.3);

    const status = await json(`${server.url}/model-status`);
    expect(status.health.failover).toMatchObject({ active: 'fallback', primary: 'acme-echo', fallback: 'faster-whisper', failovers: 1 });
    expect(status.health.failover.primaryHealth).toMatchObject({ provider: 'acme-echo', consecutiveErrors: 1, lastError: { message: 'acme engine crashed' } });
    expect(status.streams).toMatchObject({ receivedSamples: pcm.length, droppedSamples: 0 });
    await server.stop();
    servers.splice(servers.indexOf(server), 1);
    const warnings = healthWarnings(server);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, provider: 'acme-echo' });
    for (const issue of [/health\(\)\.state: /, /health\(\)\.memory: /, /health\(\)\.uptime: unknown key/]) expect(warnings[0].problem).toMatch(issue);
  }, 300_000);
});
