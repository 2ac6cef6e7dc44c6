// Writes packages/core/assets/warmup-speech.pcm: the spoken sentence ModelManager warms engines up on (2.0 s,
// 16 kHz mono s16le), so warmup decodes speech as a user's first request would, not synthesized non-speech.
// Needs espeak-ng and a built plugin-testkit; the result is committed (users need neither).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesizeSpeech } from '../packages/plugin-testkit/dist/index.js';

const SAMPLES = 32000;
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '../packages/core/assets/warmup-speech.pcm');
const { samples } = synthesizeSpeech('Please check the speech model.', { wpm: 185 });
if (samples.length > SAMPLES - 1600) throw new Error(`the sentence is ${samples.length} samples; it must fit in ${SAMPLES - 1600}`);
const pcm = new Int16Array(SAMPLES);
// A tenth of a second of lead-in, the rest trailing silence.
pcm.set(samples, 1600);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, Buffer.from(pcm.buffer));
console.log(`${out}: ${(samples.length / 16000).toFixed(2)} s of speech in ${SAMPLES / 16000} s`);
