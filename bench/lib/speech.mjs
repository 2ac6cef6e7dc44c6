// Synthetic speech with known utterance boundaries (espeak-ng + sox through core's synthesizeSpeech).
import { concatPcm, silence, synthesizeSpeech } from '@echopanel/plugin-testkit';

/** First and one-past-last sample louder than `threshold` (espeak pads its output with a little silence). */
export function speechBounds(pcm, threshold = 200) {
  let a = 0;
  while (a < pcm.length && Math.abs(pcm[a]) < threshold) a++;
  let b = pcm.length;
  while (b > a && Math.abs(pcm[b - 1]) < threshold) b--;
  return [a, b];
}

export const LATENCY_SENTENCES = [
  'The quick brown fox jumps over the lazy dog.',
  'Please call Stella and ask her to bring these things with her from the store.',
  'We will meet at the station after lunch and take the train to the city.',
  'Speech recognition on a small computer should be fast and accurate.',
  'The weather report said it would rain all afternoon.',
  'Open the window and let some fresh air into the room.',
];

const VOICES = ['en-us', 'en-gb', 'en-us+f3', 'en-us+m3'];

/**
 * Utterances separated by `gapSeconds` of silence, after `leadSeconds`. Returns the PCM and each utterance's
 * speech start/end sample (where its last audible sample is, so latency can be timed from it).
 */
export function utteranceStream(sentences, { gapSeconds = 1.5, leadSeconds = 0.5, wpm = 165 } = {}) {
  const parts = [silence(leadSeconds)];
  const utterances = [];
  let offset = parts[0].length;
  sentences.forEach((text, i) => {
    const { samples } = synthesizeSpeech(text, { voice: VOICES[i % VOICES.length], wpm });
    const [a, b] = speechBounds(samples);
    utterances.push({ text, startSample: offset + a, endSample: offset + b });
    parts.push(samples, silence(gapSeconds));
    offset += samples.length + parts[parts.length - 1].length;
  });
  return { pcm: concatPcm(...parts), utterances };
}
