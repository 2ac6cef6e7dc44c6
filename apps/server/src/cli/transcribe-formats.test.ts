import { encodeWav } from '@echopanel/core';
import {
  AUDIO_FORMATS,
  concatPcm,
  encodeAudioFixture,
  fixtureFile,
  randomBytes,
  silence,
  SPEECH_SENTENCES,
  synthesizeSpeech,
  wordErrorRate,
} from '@echopanel/plugin-testkit';
import { TEST_PYTHON } from '../server/__fixtures__/real-engine.js';
import { cliLines, projectDir, runCli } from './__fixtures__/cli-process.js';

// `echopanel transcribe FILE` decodes like the server: any container FFmpeg reads, the same coded errors.
const env = { ECHOPANEL_PYTHON: TEST_PYTHON, ECHOPANEL_LOG_LEVEL: 'error' };
const truth = SPEECH_SENTENCES.join(' ');
const wav = fixtureFile('cli-speech-16k.wav', encodeWav(concatPcm(...SPEECH_SENTENCES.flatMap((t) => [synthesizeSpeech(t).samples, silence(0.5)])), 16000));

describe('echopanel transcribe', () => {
  it('transcribes an Ogg Opus file (48 kHz, lossy) to the words spoken', async () => {
    const opus = encodeAudioFixture(wav, AUDIO_FORMATS.find((f) => f.ext === 'opus')!);
    const r = await runCli(projectDir(), ['transcribe', opus, '--provider', 'faster-whisper'], env);
    expect(r.code).toBe(0);
    // ~50 words; tiny.en on espeak speech measured 0.06-0.18 over the formats.
    expect(wordErrorRate(truth, r.stdout).wer).toBeLessThanOrEqual(0.35);
  }, 300000);

  it('random bytes are UNSUPPORTED_AUDIO_FORMAT on one line, before any model loads', async () => {
    const r = await runCli(projectDir(), ['transcribe', fixtureFile('cli-noise.mp3', randomBytes(20000)), '--provider', 'faster-whisper'], env);
    expect(r.code).toBe(1);
    expect(cliLines(r.stderr)).toEqual([expect.stringMatching(/^echopanel: UNSUPPORTED_AUDIO_FORMAT: the file is not audio FFmpeg can read/)]);
  });
});
