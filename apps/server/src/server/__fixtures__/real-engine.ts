import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelResolver, findProjectPython, silentLogger, systemClock, type ASRProvider, type PluginContext } from '@echopanel/core';
import { SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import fasterWhisper from '@echopanel/provider-faster-whisper';
import voxtral from '@echopanel/provider-voxtral';
import whisperCpp from '@echopanel/provider-whisper-cpp';
import { SileroVadEngine } from '@echopanel/vad-silero';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');

/** The Python the engine runs on: ECHOPANEL_PYTHON, else the project venv (core's findProjectPython). */
export const TEST_PYTHON = findProjectPython(REPO_ROOT);

/** The context the runtime gives plugins, with the real model resolver (finds the bundled tiny.en). */
export function pluginContext(): PluginContext {
  return {
    logger: silentLogger,
    configDir: REPO_ROOT,
    pythonPath: TEST_PYTHON,
    models: createModelResolver({ pythonPath: TEST_PYTHON, allowDownload: false }),
    clock: systemClock,
    env: process.env,
  };
}

/** The real faster-whisper provider on the bundled tiny.en, made the way the registry makes it. */
export async function realFasterWhisper(config: Record<string, unknown> = {}): Promise<ASRProvider> {
  const parsed = fasterWhisper.configSchema.parse({ model: 'tiny.en', beamSize: 1, ...config });
  return fasterWhisper.create(parsed, pluginContext());
}

/**
 * The real faster-whisper provider loaded and warmed (the first decode after a load is several times slower; the
 * ModelManager's warmup does this in the server), with the real Silero VAD, for tests of the stream pipeline.
 */
export async function warmFasterWhisperAndSilero(): Promise<[ASRProvider, SileroVadEngine]> {
  const [provider, vad] = await Promise.all([realFasterWhisper(), realSilero()]);
  await provider.load();
  await provider.decode!(synthesizeSpeech(SPEECH_SENTENCES[0]).samples, { sampleRate: 16000, language: 'en' });
  return [provider, vad];
}

export async function realSilero(): Promise<SileroVadEngine> {
  const engine = new SileroVadEngine();
  await engine.load();
  return engine;
}

/** The real whisper.cpp provider on the bundled tiny.en (converted to ggml into the store on first use). */
export async function realWhisperCpp(config: Record<string, unknown> = {}): Promise<ASRProvider> {
  return whisperCpp.create(whisperCpp.configSchema.parse({ model: 'tiny.en', ...config }), pluginContext());
}

/**
 * The voxtral provider driving the voxtral.c stand-in from its package's test fixtures (the real binary and its
 * 8.9 GB weights are not obtainable here): a provider without `decode`, which streams by itself. The stand-in
 * "recognizes" tones: word i of its vocabulary is a 0.32 s tone of 400 + 100·i Hz.
 */
export async function standinVoxtral(): Promise<ASRProvider> {
  const { binary, modelDir } = voxtralStandin();
  return voxtral.create(voxtral.configSchema.parse({ binary, modelDir, intervalSeconds: 0.5, maxSpeed: 8 }), pluginContext());
}

/** The voxtral.c stand-in and a fresh model directory it accepts. */
export function voxtralStandin(): { binary: string; modelDir: string } {
  const modelDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'voxtral-model-')), 'voxtral');
  mkdirSync(modelDir);
  const header = Buffer.from('{}');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(path.join(modelDir, 'consolidated.safetensors'), Buffer.concat([len, header]));
  writeFileSync(path.join(modelDir, 'tekken.json'), '{"vocab": [], "special_tokens": []}');
  writeFileSync(path.join(modelDir, 'params.json'), '{"dim": 3072}');
  return { binary: path.join(REPO_ROOT, 'packages/provider-voxtral/test-fixtures/voxtral-standin.mjs'), modelDir };
}

/** PCM the voxtral stand-in transcribes as `words` (its vocabulary: hello, world, alpha, bravo, …). */
export function standinTones(words: readonly string[]): Int16Array {
  const vocab = ['hello', 'world', 'alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
  const rate = 16000;
  const parts: number[] = new Array(Math.round(0.3 * rate)).fill(0);
  for (const w of words) {
    const f = 400 + 100 * vocab.indexOf(w);
    for (let k = 0; k < Math.round(0.32 * rate); k++) parts.push(Math.round(0.3 * 32767 * Math.sin((2 * Math.PI * f * k) / rate)));
    for (let k = 0; k < Math.round(0.16 * rate); k++) parts.push(0);
  }
  for (let k = 0; k < rate; k++) parts.push(0);
  return Int16Array.from(parts);
}
