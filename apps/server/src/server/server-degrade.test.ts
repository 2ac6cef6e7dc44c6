/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// The degrade ladder on the real engine: thresholds set below this machine's real RTF make it climb to
// EMERGENCY, which streams see as `status` messages and as dropped (counted) utterances.
import { concatPcm, silence, SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import { StreamClient } from './__fixtures__/ws-client.js';
import { parsePrometheus, stopServer, testServer, waitForHealth } from './__fixtures__/test-server.js';

let s: Awaited<ReturnType<typeof testServer>>;

beforeAll(async () => {
  s = await testServer({
    asr: {
      partialIntervalSeconds: 0,
      degrade: { thresholds: { warning: 0.001, degrade: 0.002, emergency: 0.003, recovery: 0.0005 }, minLevelSeconds: 0, recoveryWindowSeconds: 3600 },
    },
  });
  await waitForHealth(s.server.url, 200);
}, 300000);
afterAll(() => stopServer(s), 60000);

it('level changes reach streams as status messages and /metrics; the drop policy is counted per stream', async () => {
  const url = s.server.url;
  const c = new StreamClient(`${url}/v1/stream`);
  await c.opened;
  c.send({ type: 'start' });
  await c.waitType('ready');
  // The warmup gave the ladder an RTF; its next tick (1 s) moves it up.
  const status = await c.waitFor((m) => m.type === 'status' && m.degrade_level === 'EMERGENCY', 30000);
  expect(status.rtf).toBeGreaterThan(0);
  const m = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
  expect(m.get('echopanel_degrade_level')).toBe(3);
  // Four utterances: the EMERGENCY policy drops every other one, counted with its reason.
  const pcm = concatPcm(...[0, 1, 2, 3].map((i) => concatPcm(synthesizeSpeech(SPEECH_SENTENCES[i]).samples, silence(0.8))));
  await c.stream(pcm);
  c.send({ type: 'stop' });
  const done = await c.waitType('done');
  const stats = done.stats as Record<string, number> & { drop_reasons?: Record<string, number> };
  expect(stats.received_samples).toBe(pcm.length);
  expect(stats.transcribed_samples + stats.silence_samples + stats.dropped_samples).toBe(pcm.length);
  expect(stats.drop_reasons?.['degrade: dropping chunks']).toBeGreaterThan(0);
  expect(stats.transcribed_samples).toBeGreaterThan(0);
  expect(c.ofType('final').length).toBeGreaterThanOrEqual(1);
  const health = (await (await fetch(`${url}/model-status`)).json()) as { health: { degrade: { level: string; droppedSamples: number; activeActions: string[] } } };
  expect(health.health.degrade.level).toBe('EMERGENCY');
  expect(health.health.degrade.droppedSamples).toBe(stats.dropped_samples);
  expect(health.health.degrade.activeActions.length).toBeGreaterThan(0);
});
