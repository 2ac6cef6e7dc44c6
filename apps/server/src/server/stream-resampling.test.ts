/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// /v1/stream at other sample rates, on a real server: the per-stream resampler delivers exactly
// round(input × 16000 / rate) samples for any frame size, and the transcript is the 16 kHz stream's.
import { readFileSync } from 'node:fs';
import { decodeWav, encodeWav, wordErrorRate } from '@echopanel/core';
import { SPEECH_SENTENCES, concatPcm, encodeAudioFixture, fixtureFile, silence, synthesizeSpeech } from '@echopanel/core/testing';
import { StreamClient } from './__fixtures__/ws-client.js';
import { stopServer, testServer, waitForHealth } from './__fixtures__/test-server.js';

const RATES = [8000, 22050, 44100, 48000, 96000];
const FRAMES = [1, 128, 1000, 4096];
let s: Awaited<ReturnType<typeof testServer>>;
let url: string;
const pcm16 = concatPcm(silence(0.4), synthesizeSpeech(SPEECH_SENTENCES[1]).samples, silence(0.6));
const wav16 = fixtureFile('stream-rates-16k.wav', encodeWav(pcm16, 16000));

/** The same speech at `rate`, resampled by FFmpeg (not by the code under test). */
function atRate(rate: number): Int16Array {
  return decodeWav(readFileSync(encodeAudioFixture(wav16, { name: `${rate}`, ext: 'wav', args: ['-c:a', 'pcm_s16le', '-ar', String(rate)] }))).samples;
}

beforeAll(async () => {
  s = await testServer({ asr: { degrade: { enabled: false }, partialIntervalSeconds: 0 } });
  url = s.server.url;
  await waitForHealth(url, 200);
}, 300000);
afterAll(() => stopServer(s), 60000);

async function streamAt(samples: Int16Array | Float32Array, rate: number, frame: number): Promise<{ text: string; received: number }> {
  const c = new StreamClient(`${url}/v1/stream`);
  await c.opened;
  c.send({ type: 'start', sample_rate: rate, encoding: samples instanceof Float32Array ? 'pcm_f32le' : 'pcm_s16le' });
  await c.waitType('ready');
  const bytes = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const step = frame * samples.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += step) c.sendPcm(bytes.subarray(i, i + step));
  c.send({ type: 'stop' });
  const done = await c.waitType('done', 300000);
  return { text: c.finalText(), received: (done.stats as Record<string, number>).received_samples };
}

it('every rate and frame size: exact sample counts and the 16 kHz transcript', async () => {
  const reference = await streamAt(pcm16, 16000, 1600);
  expect(reference.received).toBe(pcm16.length);
  expect(wordErrorRate(SPEECH_SENTENCES[1], reference.text).wer).toBeLessThanOrEqual(0.2);
  let errors = 0;
  let words = 0;
  for (const rate of RATES) {
    const pcm = atRate(rate);
    for (const frame of FRAMES) {
      const r = await streamAt(pcm, rate, frame);
      expect([rate, frame, r.received - Math.round((pcm.length * 16000) / rate)]).toEqual([rate, frame, 0]);
      const w = wordErrorRate(reference.text, r.text);
      errors += w.substitutions + w.deletions + w.insertions;
      words += w.referenceWords;
    }
  }
  // Measured 24 of 300 words (0.08) differing from the 16 kHz stream, 8 kHz input (no band above 4 kHz) among them.
  expect(words).toBeGreaterThanOrEqual(40);
  expect(errors / words).toBeLessThanOrEqual(0.2);
}, 900000);

it('pcm_f32le (an AudioWorklet: 48 kHz float in 128-sample frames) matches pcm_s16le', async () => {
  const pcm = atRate(48000);
  const f32 = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) f32[i] = pcm[i] / 32768;
  const s16 = await streamAt(pcm, 48000, 128);
  const f = await streamAt(f32, 48000, 128);
  expect(f.received).toBe(Math.round((pcm.length * 16000) / 48000));
  expect(f.received).toBe(s16.received);
  expect(wordErrorRate(s16.text, f.text).wer).toBeLessThanOrEqual(0.2);
}, 300000);
