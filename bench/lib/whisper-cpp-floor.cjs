// The whisper.cpp engine floor for bench/sections/rtf.mjs: the provider's own smart-whisper addon called
// directly (whisper_full on the whole recording, the provider's decoding parameters), resident and warmed up,
// answering one "run" line on stdin with {"ms", "text"} (like the faster-whisper floor). A fresh process per
// measurement would time whisper.cpp's first-call allocations instead of the steady state the provider runs in.
// usage: node whisper-cpp-floor.cjs <smart-whisper.node> <ggml model> <wav 16 kHz mono s16> <threads> <beam>
const fs = require('node:fs');
const readline = require('node:readline');

const [addon, model, wav, threads, beam] = process.argv.slice(2);
const binding = require(addon);
let pcm;
const params = {
  strategy: Number(beam) > 1 ? 1 : 0,
  ...(Number(beam) > 1 ? { beam_size: Number(beam) } : {}),
  n_threads: Number(threads),
  language: 'en',
  no_context: true,
  suppress_blank: true,
  suppress_non_speech_tokens: true,
  print_progress: false,
  print_realtime: false,
  print_timestamps: false,
  format: 'detail',
};
const transcribe = (handle) =>
  new Promise((resolve) => binding.transcribe(handle, pcm, params, (result) => resolve(result), () => undefined));

(async () => {
  // Core's WAV reader (the same one the product uses); this script is CommonJS for require() of the addon.
  const { decodeWav, int16ToFloat32 } = await import('@echopanel/core');
  pcm = int16ToFloat32(decodeWav(fs.readFileSync(wav)).samples);
  const m = await binding.WhisperModel.load(model, false);
  await transcribe(m.handle);
  process.stdout.write(`${JSON.stringify({ ready: true, seconds: pcm.length / 16000 })}\n`);
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (!line.startsWith('run')) continue;
    const t0 = performance.now();
    const result = await transcribe(m.handle);
    const ms = performance.now() - t0;
    const text = Array.isArray(result) ? result.map((s) => (typeof s === 'string' ? s : s.text ?? '')).join('').trim() : '';
    process.stdout.write(`${JSON.stringify({ ms, text })}\n`);
  }
  await m.free();
})();
