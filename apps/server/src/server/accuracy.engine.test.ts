/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
// The server never makes its engine worse: an upload comes back with the words faster-whisper itself gives for
// the file, and neither uploads nor streams lose the unvoiced onset of an utterance ("Speech", "Five", "Stella")
// after silence or after noise. Real server, real engine, real Silero VAD, speech synthesized here.
import { execFileSync } from 'node:child_process';
import { encodeWav, rms } from '@echopanel/core';
import {
  concatPcm,
  fixtureFile,
  normalizeTranscript,
  silence,
  synthesizeSpeech,
  wordErrorRate,
} from '@echopanel/plugin-testkit';
import { pluginContext, TEST_PYTHON } from './__fixtures__/real-engine.js';
import { stopServer, testServer, waitForHealth } from './__fixtures__/test-server.js';
import { StreamClient } from './__fixtures__/ws-client.js';

/** Utterances that open with an unvoiced sound, the one a VAD hears late. */
const ONSETS = [
  { text: 'Speech is easy to recognize when the speaker talks clearly.', first: 'speech' },
  { text: 'Five people came to the meeting on Monday morning.', first: 'five' },
  { text: 'Stella will call you back after the meeting tomorrow.', first: 'stella' },
  { text: 'Sometimes the simplest answer is the right one.', first: 'sometimes' },
  { text: 'Fourteen people finished the first race before sunset.', first: 'fourteen' },
  { text: 'Six students stayed after school to study science.', first: 'six' },
] as const;
const VOICES = ['en-us', 'en-us+f3'] as const;

/** Each utterance after 1.5 s of silence (or of noise: the whole recording under white noise of 0.005). */
function onsetRecording(noise: number): { pcm: Int16Array; starts: number[]; onsets: number[] } {
  const parts: Int16Array[] = [];
  const starts: number[] = [];
  const onsets: number[] = [];
  let at = 0;
  for (const [i, o] of ONSETS.entries()) {
    parts.push(silence(1.5));
    at += 1.5;
    starts.push(at);
    const s = synthesizeSpeech(o.text, { voice: VOICES[i % VOICES.length] }).samples;
    onsets.push(at + firstSound(s) / 16000);
    parts.push(s);
    at += s.length / 16000;
  }
  parts.push(silence(1.5));
  const pcm = concatPcm(...parts);
  if (noise) addNoise(pcm, noise);
  return { pcm, starts, onsets };
}

/** First sample of the first 10 ms louder than −50 dBFS (espeak starts its output with a little silence). */
function firstSound(pcm: Int16Array): number {
  for (let i = 0; i + 160 <= pcm.length; i += 160) if (rms(pcm.subarray(i, i + 160)) > 0.003) return i;
  return 0;
}

/** White noise (seeded) over the whole recording, so the silence before each onset is noise too. */
function addNoise(pcm: Int16Array, amplitude: number): void {
  let x = 12345;
  for (let i = 0; i < pcm.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    pcm[i] = Math.max(-32768, Math.min(32767, pcm[i] + Math.round(((x / 0x7fffffff) * 2 - 1) * amplitude * 32767)));
  }
}

/** faster-whisper called directly on the WAV, as a user could: `WhisperModel.transcribe(file, ...)`. */
function engineOnFile(modelPath: string, wavPath: string, beam: number): string {
  const script = [
    'import sys',
    'from faster_whisper import WhisperModel',
    "m = WhisperModel(sys.argv[1], device='cpu', compute_type='int8', local_files_only=True)",
    "segs, _ = m.transcribe(sys.argv[2], language='en', beam_size=int(sys.argv[3]))",
    "print(' '.join(s.text.strip() for s in segs))",
  ].join('\n');
  return execFileSync(TEST_PYTHON, ['-c', script, modelPath, wavPath, String(beam)], { encoding: 'utf8' }).trim();
}

const firstWord = (text: string) => normalizeTranscript(text)[0] ?? '';

let s: Awaited<ReturnType<typeof testServer>>;
let url: string;

beforeAll(async () => {
  s = await testServer({ asr: { degrade: { enabled: false } }, providers: { 'faster-whisper': { model: 'tiny.en', beamSize: 5 } } });
  url = s.server.url;
  await waitForHealth(url, 200);
}, 300000);
afterAll(() => stopServer(s), 60000);

async function upload(pcm: Int16Array): Promise<{ text: string; segments: { start: number; end: number; text: string }[] }> {
  const form = new FormData();
  form.append('file', new Blob([encodeWav(pcm, 16000)]), 'speech.wav');
  form.append('response_format', 'verbose_json');
  const res = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  expect(res.status).toBe(200);
  return (await res.json()) as { text: string; segments: { start: number; end: number; text: string }[] };
}

describe('accuracy (real server, faster-whisper tiny.en, Silero VAD)', () => {
  it('an upload gives the words the engine gives for the file: long-form decoding, pauses and all (> 50 words)', async () => {
    // Several voices, short pauses a VAD would cut at, and a 6 s pause whose middle the server leaves out.
    const parts = ONSETS.flatMap((o, i) => [synthesizeSpeech(o.text, { voice: VOICES[i % VOICES.length] }).samples, silence(i === 2 ? 6 : 0.4)]);
    const pcm = concatPcm(silence(0.5), ...parts);
    const wav = fixtureFile('accuracy-long-form.wav', encodeWav(pcm, 16000));
    const model = await pluginContext().models.resolve('tiny.en', 'ct2');
    const engine = engineOnFile(model.path, wav, 5);
    const served = await upload(pcm);
    const reference = ONSETS.map((o) => o.text).join(' ');
    expect(normalizeTranscript(reference).length).toBeGreaterThan(50);
    // Same decoding on the same audio: the same words (a word or two of slack for float rounding on another CPU).
    expect(wordErrorRate(engine, served.text).wer).toBeLessThanOrEqual(0.04);
    // Timestamps stay on the recording's timeline across the left-out pause.
    const stella = served.segments.find((seg) => /stella/i.test(seg.text));
    expect(stella).toBeDefined();
    const stellaStart = 0.5 + parts.slice(0, 4).reduce((n, p) => n + p.length, 0) / 16000;
    expect(Math.abs(stella!.start - stellaStart)).toBeLessThan(1.0);
  }, 300000);

  // A cut onset shows twice: the utterance starts after its first sound, and the engine hears another word
  // ("The recognition" for "Speech recognition"). The timing is checked for every utterance; the words pooled
  // over 12 utterances allow for tiny.en mishearing one name now and then (measured: at most 1 of 12).
  it('an upload keeps every unvoiced onset, after silence and after noise', async () => {
    let heard = 0;
    for (const noise of [0, 0.005]) {
      const { pcm } = onsetRecording(noise);
      const words = normalizeTranscript((await upload(pcm)).text);
      heard += ONSETS.filter((o) => words.includes(o.first)).length;
    }
    expect(heard).toBeGreaterThanOrEqual(2 * ONSETS.length - 2);
  }, 300000);

  it('a stream keeps every unvoiced onset, after silence and after noise: each utterance starts before its first sound', async () => {
    let heard = 0;
    for (const noise of [0, 0.005]) {
      const { pcm, starts, onsets } = onsetRecording(noise);
      const c = new StreamClient(`${url}/v1/stream`);
      await c.opened;
      c.send({ type: 'start', sample_rate: 16000, encoding: 'pcm_s16le', language: 'en' });
      await c.waitType('ready');
      await c.stream(pcm, 1600, 5);
      c.send({ type: 'stop' });
      await c.waitType('done', 240000);
      c.ws.close();
      const finals = c.ofType('final') as unknown as { text: string; start: number }[];
      for (const [i, o] of ONSETS.entries()) {
        const f = finals.reduce((best, x) => (Math.abs(x.start - starts[i]) < Math.abs(best.start - starts[i]) ? x : best), finals[0]);
        expect(f).toBeDefined();
        expect(f.start).toBeLessThanOrEqual(onsets[i] - 0.1);
        if (firstWord(f.text) === o.first) heard++;
      }
    }
    expect(heard).toBeGreaterThanOrEqual(2 * ONSETS.length - 2);
  }, 300000);
});
