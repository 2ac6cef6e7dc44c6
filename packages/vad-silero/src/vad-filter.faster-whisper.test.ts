import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelResolver, findProjectPython } from '@echopanel/core';
import { silentLogger, systemClock, type Segment, type TranscriptionEvent, type VadEvent } from '@echopanel/plugin-api';
import { SPEECH_SENTENCES, wordErrorRate } from '@echopanel/plugin-testkit';
import fasterWhisper from '@echopanel/provider-faster-whisper';
import { sentencesWithPauses } from './__fixtures__/audio.js';
import { SileroVadEngine } from './silero-engine.js';
import { VadFilter } from './vad-filter.js';

const RATE = 16000;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The project's Python (ECHOPANEL_PYTHON, else the repo venv); the runtime's resolver finds its bundled tiny.en. */
const PYTHON = findProjectPython(repoRoot);
const models = createModelResolver({ pythonPath: PYTHON, modelDir: path.join(os.tmpdir(), 'echopanel-vad-test-empty-store'), allowDownload: false });

describe('VadFilter in front of the real faster-whisper provider (tiny.en)', () => {
  const engine = new SileroVadEngine();
  const provider = fasterWhisper.create(fasterWhisper.configSchema.parse({ model: 'tiny.en', device: 'cpu', beamSize: 1 }), {
    logger: silentLogger,
    configDir: repoRoot,
    pythonPath: PYTHON,
    models,
    clock: systemClock,
    env: process.env,
  });

  afterAll(async () => {
    await (await provider).unload();
    await engine.unload();
  });

  test('only speech is decoded, one call per utterance, text and timeline intact', async () => {
    const fw = await provider;
    const filter = new VadFilter(fw, engine);
    await filter.load();
    expect(filter.mode).toBe('decode');
    const { pcm, truth } = sentencesWithPauses('en-us', [2.0, 1.5, 1.2, 1.8, 2.5]);
    const d = engine.createDetector();
    const vadEvents: VadEvent[] = [...(await d.push(pcm)).events, ...d.flush().events];
    const ranges = vadEvents.flatMap((e) => (e.type === 'speech-end' ? [{ start: e.startSample / RATE, end: e.endSample / RATE }] : []));
    const before = fw.health().inferences;

    const events: TranscriptionEvent[] = [];
    const segments: Segment[] = [];
    const frames = async function* () {
      for (let i = 0; i < pcm.length; i += 1600) yield pcm.subarray(i, i + 1600);
    };
    for await (const s of filter.transcribe(frames(), { sampleRate: RATE, onEvent: (e) => events.push(e) })) segments.push(s);

    // The engine ran once per utterance — never on the 9 s of pauses.
    expect(fw.health().inferences - before).toBe(truth.length);
    const wer = wordErrorRate(SPEECH_SENTENCES.join(' '), segments.map((s) => s.text).join(' '));
    // 50 words; measured 0.10–0.16 on different runs (each utterance decoded alone, cut at Silero's own edges).
    expect(wer.wer).toBeLessThanOrEqual(0.32);
    // Each transcript segment lies within the utterance it came from, on the stream's timeline.
    for (const s of segments) {
      expect(ranges.some((r) => s.start >= r.start - 0.01 && s.end <= r.end + 0.01)).toBe(true);
    }
    const total = events.reduce((n, e) => n + ('samples' in e ? e.samples : 0), 0);
    expect(total).toBe(pcm.length);
    const skipped = events.reduce((n, e) => n + (e.type === 'skipped' ? e.samples : 0), 0);
    const speech = ranges.reduce((n, r) => n + Math.round((r.end - r.start) * RATE), 0);
    expect(skipped).toBe(pcm.length - speech);
    const stats = filter.stats();
    expect(stats.inferenceMsPerAudioSecond).toBeGreaterThan(0);
    expect(stats.inferTimeSavedMs).toBeCloseTo((skipped / RATE) * stats.inferenceMsPerAudioSecond!, 0);
    console.log(
      `faster-whisper tiny.en behind VadFilter: WER ${wer.wer.toFixed(3)}, ${truth.length} decodes, silence ${(skipped / RATE).toFixed(1)} s of ${(pcm.length / RATE).toFixed(1)} s, ` +
        `measured ${stats.inferenceMsPerAudioSecond} ms/audio-s → saved ≈ ${Math.round(stats.inferTimeSavedMs)} ms; VAD itself ${Math.round(stats.vadMs)} ms`,
    );
  });
});
