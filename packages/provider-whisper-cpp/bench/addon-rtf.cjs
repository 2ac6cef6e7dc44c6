// Times whisper_full through one smart-whisper addon file (to compare builds of the same code in one run).
// usage: node addon-rtf.cjs <smart-whisper.node> <ggml model> <wav> <chunk seconds> <threads> <beam>
// Prints one JSON line { inferMs: [...], audioSeconds }. Run in a child process per addon.
const fs = require('node:fs');
const [addon, model, wav, chunkSec, threads, beam] = process.argv.slice(2);
const binding = require(addon);
let pcm;
const size = Math.round(Number(chunkSec) * 16000);
const params = {
  strategy: Number(beam) > 1 ? 1 : 0,
  beam_size: Number(beam),
  n_threads: Number(threads),
  language: 'en',
  no_context: true,
  print_progress: false,
  format: 'detail',
};
(async () => {
  // Core's WAV reader (the same one the product uses); this script is CommonJS for require() of the addon.
  const { decodeWav, int16ToFloat32 } = await import('@echopanel/core');
  pcm = int16ToFloat32(decodeWav(fs.readFileSync(wav)).samples);
  const m = await binding.WhisperModel.load(model, false);
  const inferMs = [];
  let audioSeconds = 0;
  for (let i = 0; i < pcm.length; i += size) {
    const c = pcm.subarray(i, Math.min(pcm.length, i + size));
    if (c.length < size && c.length < 8000) continue;
    let e = 0;
    for (const v of c) e += v * v;
    if (Math.sqrt(e / c.length) < 0.01) continue;
    const t0 = performance.now();
    await new Promise((resolve) => binding.transcribe(m.handle, c, params, resolve, () => undefined));
    inferMs.push(performance.now() - t0);
    audioSeconds += c.length / 16000;
  }
  await m.free();
  process.stdout.write(JSON.stringify({ inferMs, audioSeconds }) + '\n');
})();
