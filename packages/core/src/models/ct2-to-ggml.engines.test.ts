// The converted tiny.en must behave like the original: whisper.cpp (through smart-whisper) on the converted file
// and faster-whisper on the CTranslate2 source transcribe the same synthesized speech the same way.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SPEECH_SENTENCES, synthesizeSpeech, wordErrorRate } from '@echopanel/plugin-testkit';
import { convertCt2ToGgml, melFilterbank } from '@echopanel/whisper-models';
import { findModelPackage } from './model-package.js';
import { TEST_PYTHON } from './__fixtures__/test-python.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '__fixtures__');
const require = createRequire(import.meta.url);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ct2-ggml-engines-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface SmartWhisper {
  transcribe(pcm: Float32Array, params: Record<string, unknown>): Promise<{ result: Promise<{ text: string }[]> }>;
  free(): Promise<void>;
}

async function whisperCpp(model: string, wavs: Int16Array[]): Promise<string[]> {
  const { Whisper } = require('smart-whisper') as { Whisper: new (p: string, o: { gpu: boolean }) => SmartWhisper };
  const w = new Whisper(model, { gpu: false });
  try {
    const out: string[] = [];
    for (const pcm of wavs) {
      const f = Float32Array.from(pcm, (x) => x / 32768);
      const task = await w.transcribe(f, { language: 'en', n_threads: 2 });
      out.push((await task.result).map((s) => s.text).join('').trim());
    }
    return out;
  } finally {
    await w.free();
  }
}

function fasterWhisper(modelDir: string, wavPaths: string[]): string[] {
  const stdout = execFileSync(TEST_PYTHON, [path.join(fixtures, 'faster-whisper-transcribe.py'), modelDir, ...wavPaths], { encoding: 'utf8', timeout: 300_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as string[];
}

describe('converted bundled tiny.en', () => {
  it('computes the same mel filterbank as faster-whisper', () => {
    const ref = JSON.parse(execFileSync(TEST_PYTHON, [path.join(fixtures, 'mel-reference.py'), '80'], { encoding: 'utf8' })) as number[];
    const mine = melFilterbank({ nMels: 80 }).data;
    expect(mine.length).toBe(ref.length);
    let maxDiff = 0;
    ref.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - mine[i]))));
    // Float32 rounding of weights up to ~0.026.
    expect(maxDiff).toBeLessThan(1e-7);
  });

  it('transcribes synthesized speech with whisper.cpp like faster-whisper does with the source', async () => {
    const pkg = await findModelPackage(TEST_PYTHON);
    expect(pkg).toBeDefined();
    const out = path.join(tmp, 'ggml-tiny.en.bin');
    const r = await convertCt2ToGgml({ from: pkg!.path, to: out });
    expect(r.hparams).toMatchObject({ nVocab: 51864, nAudioLayer: 4, nTextLayer: 4, nAudioState: 384, nMels: 80, ftype: 1 });
    expect(r.vocabTokens).toBe(50256);

    const speech = SPEECH_SENTENCES.map((text) => synthesizeSpeech(text, { padSeconds: 0.5 }));
    const cpp = await whisperCpp(out, speech.map((s) => s.samples));
    const fw = fasterWhisper(pkg!.path, speech.map((s) => s.wavPath));

    const rows = speech.map((s, i) => ({
      text: s.text,
      whisperCpp: cpp[i],
      fasterWhisper: fw[i],
      werCpp: wordErrorRate(s.text, cpp[i]).wer,
      werFw: wordErrorRate(s.text, fw[i]).wer,
      agreement: wordErrorRate(fw[i], cpp[i]).wer,
    }));
    console.log(JSON.stringify(rows, null, 2));
    const words = speech.reduce((n, s) => n + wordErrorRate(s.text, s.text).referenceWords, 0);
    const pooled = (key: 'werCpp' | 'werFw' | 'agreement'): number =>
      rows.reduce((n, row, i) => n + row[key] * wordErrorRate(key === 'agreement' ? fw[i] : speech[i].text, '').referenceWords, 0) / words;
    // Both engines run the same weights; only numerics differ (f16 matmuls in ggml vs f32 in CTranslate2), which
    // may flip a near-tie token now and then: at most one word in ten differs, and the converted model is no
    // worse against the text than the source by more than that.
    expect(pooled('agreement')).toBeLessThanOrEqual(0.1);
    expect(pooled('werCpp')).toBeLessThanOrEqual(pooled('werFw') + 0.1);
    // tiny.en on clear espeak speech: under 25% WER (an unconverted or mis-split model produces garbage, WER ≥ 90%).
    expect(pooled('werCpp')).toBeLessThanOrEqual(0.25);
  });
});
