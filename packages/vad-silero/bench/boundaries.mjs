#!/usr/bin/env node
// Where the detector puts speech boundaries on espeak-ng speech with known boundaries (first/last sample above
// −70 dBFS of each utterance + the silence inserted around it), with and without boundary refinement.
// Prints emitted start / end minus the known onset / offset in ms (negative = early).
//
//   node bench/boundaries.mjs          (needs espeak-ng and sox, like the tests)
import { resample } from '@echopanel/plugin-api';
import { concatPcm, silence, synthesizeSpeech, SPEECH_SENTENCES } from '@echopanel/plugin-testkit';
import { SileroVadEngine } from '../dist/index.js';

/** First and last sample louder than `level` (−70 dBFS). */
function extent(pcm, level = 10) {
  let a = 0;
  while (a < pcm.length && Math.abs(pcm[a]) <= level) a++;
  let b = pcm.length - 1;
  while (b > a && Math.abs(pcm[b]) <= level) b--;
  return { onset: a, offset: b + 1 };
}

async function segments(engine, pcm, options) {
  const detector = engine.createDetector(options);
  const result = await detector.push(pcm);
  return [...result.events, ...detector.flush().events].filter((e) => e.type === 'speech-end');
}

const fmt = (segs, truth, scale) =>
  segs.length !== truth.length
    ? `${segs.length} segments for ${truth.length} utterances`
    : segs.map((e, i) => `${Math.round((e.startSample * scale - truth[i].onset) / 16)}/${Math.round((e.endSample * scale - truth[i].offset) / 16)}`).join('  ');

const engine = new SileroVadEngine();
console.log('start/end offsets in ms per sentence (start − onset / end − offset)');
for (const voice of ['en-us', 'en-gb']) {
  const pauses = [1.0, 1.3, 0.8, 1.7, 1.0];
  const parts = [];
  const truth = [];
  let at = 0;
  SPEECH_SENTENCES.forEach((text, i) => {
    parts.push(silence(pauses[i]));
    at += Math.round(pauses[i] * 16000);
    const u = synthesizeSpeech(text, { voice }).samples;
    const e = extent(u);
    truth.push({ onset: at + e.onset, offset: at + e.offset });
    parts.push(u);
    at += u.length;
  });
  parts.push(silence(pauses[4]));
  const pcm16 = concatPcm(...parts);
  const pcm8 = await resample(pcm16, 16000, 8000);
  for (const rate of [16000, 8000]) {
    for (const trim of [true, false]) {
      const segs = await segments(engine, rate === 16000 ? pcm16 : pcm8, { sampleRate: rate, refineBoundaries: trim });
      console.log(`  ${voice} ${rate / 1000} kHz ${trim ? 'refined' : 'silero '}  ${fmt(segs, truth, 16000 / rate)}`);
    }
  }
}
console.log('each sentence alone, 1.5 s of white noise around it (vs the clean clip)');
for (const noise of [0.01, 0.02, 0.05, 0.1]) {
  for (const trim of [true, false]) {
    const cols = [];
    for (const text of SPEECH_SENTENCES) {
      const clean = extent(synthesizeSpeech(text).samples);
      const noisy = synthesizeSpeech(text, { padSeconds: [1.5, 1.5], noise }).samples;
      cols.push(fmt(await segments(engine, noisy, { refineBoundaries: trim }), [{ onset: 24000 + clean.onset, offset: 24000 + clean.offset }], 1));
    }
    console.log(`  noise ${noise.toFixed(2)} ${trim ? 'refined' : 'silero '}  ${cols.join('  ')}`);
  }
}
await engine.unload();
