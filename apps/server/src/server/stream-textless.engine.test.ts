/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// An utterance the engine returns no text for (here a tone: sound the segmenter opens an utterance on) is
// transcribed audio without a final; `done` says how many there were, so a missing final is never unexplained.
import { concatPcm, RECOGNIZABLE_WER, silence, SPEECH_SENTENCES, synthesizeSpeech, wordErrorRate } from '@echopanel/plugin-testkit';
import { StreamClient } from './__fixtures__/ws-client.js';
import { stopServer, testServer, waitForHealth } from './__fixtures__/test-server.js';

let s: Awaited<ReturnType<typeof testServer>>;

beforeAll(async () => {
  s = await testServer({ asr: { degrade: { enabled: false } } });
  await waitForHealth(s.server.url, 200);
}, 300000);
afterAll(() => stopServer(s), 60000);

/**
 * A 440 Hz tone at -15 dBFS: tiny.en usually returns no text for it, but not always (its temperature fallback
 * samples at random: a fresh CI run once heard words in it).
 */
function tone(seconds: number): Int16Array {
  const pcm = new Int16Array(Math.round(seconds * 16000));
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 16000));
  return pcm;
}

it('done counts the utterances that came back without text (textless_utterances); speech still has its final', async () => {
  const sentence = SPEECH_SENTENCES[2];
  const speech = synthesizeSpeech(sentence).samples;
  const pcm = concatPcm(silence(1), speech, silence(1.5), tone(1.5), silence(1.5));
  const toneStart = 1 + speech.length / 16000 + 1.5;
  const c = new StreamClient(`${s.server.url}/v1/stream`);
  await c.opened;
  c.send({ type: 'start' });
  expect((await c.waitType('ready')).segmentation).toBe('vad');
  await c.stream(pcm);
  c.send({ type: 'stop' });
  const stats = (await c.waitType('done')).stats as Record<string, number>;
  expect(stats.received_samples).toBe(pcm.length);
  expect(stats.transcribed_samples + stats.silence_samples + stats.dropped_samples).toBe(pcm.length);
  expect(stats.dropped_samples).toBe(0);
  expect(stats.finals).toBe(c.ofType('final').length);
  const speechFinals = c.ofType('final').filter((f) => (f.end as number) <= toneStart);
  expect(wordErrorRate(sentence, speechFinals.map((f) => f.text as string).join(' ')).wer).toBeLessThan(RECOGNIZABLE_WER);
  // The tone's utterance is never unexplained: either it came back as a final, or done counts it as textless.
  const toneFinals = c.ofType('final').filter((f) => (f.end as number) > toneStart);
  expect({ toneFinals: toneFinals.length, textless: stats.textless_utterances ?? 0 }).toEqual(
    toneFinals.length > 0 ? { toneFinals: toneFinals.length, textless: 0 } : { toneFinals: 0, textless: 1 },
  );
});
