// The engine floors: faster-whisper called directly in Python (the provider package's bench/direct_rtf.py) and
// whisper.cpp through PyPI's pywhispercpp (the whisper-cpp package's bench/yardstick.py). pywhispercpp is a
// benchmark-only tool: it is installed into the project venv here, on demand, and is no dependency of anything.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { repoRoot } from './server-process.mjs';

export const PYWHISPERCPP = 'pywhispercpp==1.5.1';

/** Makes sure pywhispercpp imports in `python`, installing it with pip if not. */
export function ensurePywhispercpp(python) {
  const probe = spawnSync(python, ['-c', 'import pywhispercpp'], { encoding: 'utf8' });
  if (probe.status === 0) return;
  process.stderr.write(`[bench] installing ${PYWHISPERCPP} into ${python} (benchmark yardstick only)\n`);
  execFileSync(python, ['-m', 'pip', 'install', '--quiet', PYWHISPERCPP], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** A resident faster-whisper process answering "run <beam>" with {ms, text} for the whole WAV. */
export async function startFasterWhisperFloor({ python, modelPath, wavPath, computeType = 'int8', cpuThreads = 0 }) {
  const script = path.join(repoRoot, 'packages', 'provider-faster-whisper', 'bench', 'direct_rtf.py');
  const child = spawn(python, [script, modelPath, wavPath, computeType, String(cpuThreads)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error(`${script} exited before it was ready`);
  return {
    async run(beam) {
      child.stdin.write(`run ${beam}\n`);
      const r = await lines.next();
      if (r.done) throw new Error(`${script} exited`);
      return JSON.parse(r.value);
    },
    stop: () => child.stdin.end(),
  };
}

/**
 * One whisper.cpp yardstick measurement: a fresh pywhispercpp process transcribes the WAV's chunks twice (the
 * first pass warms up) and the second pass's inference time is returned with its text.
 */
export function whisperCppFloorRun({ python, ggmlPath, wavPath, chunkSeconds, threads, beam }) {
  const script = path.join(repoRoot, 'packages', 'provider-whisper-cpp', 'bench', 'yardstick.py');
  const out = execFileSync(python, [script, ggmlPath, wavPath, String(chunkSeconds), String(threads), String(beam), '2'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 16 << 20,
  });
  const r = JSON.parse(out.trim().split('\n').pop());
  const second = r.inferMs.slice(r.inferMs.length / 2);
  return { ms: second.reduce((a, b) => a + b, 0), text: r.text, chunks: second.length };
}

/**
 * A resident whisper.cpp floor (bench/lib/whisper-cpp-floor.cjs): the very smart-whisper addon the provider
 * loads, called directly with the provider's decoding parameters, warmed up, answering "run" with {ms, text}.
 */
export async function startWhisperCppFloor({ ggmlPath, wavPath, threads, beam }) {
  const addon = path.join(path.dirname(createRequire(path.join(repoRoot, 'packages', 'provider-whisper-cpp', 'package.json')).resolve('smart-whisper/package.json')), 'build', 'Release', 'smart-whisper.node');
  const script = path.join(repoRoot, 'bench', 'lib', 'whisper-cpp-floor.cjs');
  // whisper.cpp logs to stderr; only the JSON lines on stdout matter.
  const child = spawn(process.execPath, [script, addon, ggmlPath, wavPath, String(threads), String(beam)], { stdio: ['pipe', 'pipe', 'ignore'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error(`${script} exited before it was ready (run it by hand to see whisper.cpp's error)`);
  return {
    async run() {
      child.stdin.write('run\n');
      const r = await lines.next();
      if (r.done) throw new Error(`${script} exited`);
      return JSON.parse(r.value);
    },
    stop: () => child.stdin.end(),
  };
}

/**
 * The accuracy floor of faster-whisper (bench/lib/faster_whisper_floor.py): `WhisperModel.transcribe(file,
 * language="en", beam_size=beam)` with every other option at the engine's default, one resident process.
 */
export async function startFasterWhisperFileFloor({ python, modelPath, beam, computeType = 'int8', cpuThreads = 2 }) {
  const script = path.join(repoRoot, 'bench', 'lib', 'faster_whisper_floor.py');
  const child = spawn(python, [script, modelPath, computeType, String(cpuThreads), String(beam)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error(`${script} exited before it was ready`);
  return {
    async run(wavPath) {
      const t0 = performance.now();
      child.stdin.write(`${wavPath}\n`);
      const r = await lines.next();
      if (r.done) throw new Error(`${script} exited`);
      return { ...JSON.parse(r.value), ms: performance.now() - t0 };
    },
    stop: () => child.stdin.end(),
  };
}

/**
 * The accuracy floor of whisper.cpp: the provider's smart-whisper addon, `whisper_full` over the whole recording
 * with its own 30 s windows and text context (no_context false, as whisper.cpp's CLI), beam `beam`.
 */
export async function startWhisperCppFileFloor({ ggmlPath, beam, threads = 2 }) {
  const sw = createRequire(path.join(repoRoot, 'packages', 'provider-whisper-cpp', 'package.json'))('smart-whisper');
  const model = await sw.WhisperModel.load(ggmlPath, false);
  const params = {
    strategy: beam > 1 ? 1 : 0,
    ...(beam > 1 ? { beam_size: beam } : {}),
    n_threads: threads,
    language: 'en',
    no_context: false,
    // The provider's token suppression: without it tiny.en writes "[BLANK_AUDIO]" and "(sighing)" as words.
    suppress_blank: true,
    suppress_non_speech_tokens: true,
    format: 'detail',
  };
  return {
    async run(pcm) {
      const float = new Float32Array(pcm.length);
      for (let i = 0; i < pcm.length; i++) float[i] = pcm[i] / 32768;
      const t0 = performance.now();
      const segs = await new Promise((resolve, reject) =>
        sw.binding.transcribe(model.handle, float, params, (r) => (Array.isArray(r) ? resolve(r) : reject(r)), () => undefined),
      );
      return { text: segs.map((s) => s.text.trim()).join(' '), ms: performance.now() - t0 };
    },
    stop: () => model.free(),
  };
}
