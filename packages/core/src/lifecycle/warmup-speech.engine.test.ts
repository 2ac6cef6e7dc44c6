// The warmup audio shipped with core is speech the real engine (faster-whisper tiny.en) recognizes, and the
// manager's warmup decodes it to text.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RECOGNIZABLE_WER, wordErrorRate } from '@echopanel/plugin-testkit';
import { createRuntime, type EchoPanelRuntime } from '../runtime/create-runtime.js';
import { ModelManager } from './model-manager.js';
import { WARMUP_SPEECH_TEXT, warmupSpeech } from './warmup-speech.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
let runtime: EchoPanelRuntime;
let manager: ModelManager;

beforeAll(async () => {
  runtime = await createRuntime({ cwd: repoRoot, inline: { providers: { 'faster-whisper': { model: 'tiny.en', beamSize: 1 } }, models: { allowDownload: false } } });
  manager = new ModelManager({ provider: await runtime.providers.create('faster-whisper'), warmupLevel: 2 });
}, 60000);
afterAll(async () => {
  await manager?.unload();
  await runtime?.dispose();
});

it('is 2 s of 16 kHz speech the engine transcribes as its sentence; warmup decodes it to text', async () => {
  const pcm = warmupSpeech();
  expect(pcm).toHaveLength(32000);
  await manager.initialize();
  const warm = manager.health().extra?.warmup as { levels: { level: number; segments: number; exceeded: boolean }[] };
  expect(warm.levels).toEqual([expect.objectContaining({ level: 2, exceeded: false })]);
  expect(warm.levels[0].segments).toBeGreaterThanOrEqual(1);
  const segments = await manager.decode(pcm, { sampleRate: 16000, language: 'en' });
  const text = segments.map((s) => s.text).join(' ');
  expect(wordErrorRate(WARMUP_SPEECH_TEXT, text).wer).toBeLessThan(RECOGNIZABLE_WER);
}, 120000);
