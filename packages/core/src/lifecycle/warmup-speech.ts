import { readFileSync } from 'node:fs';

/** The spoken sentence shipped with core ("Please check the speech model.", 2 s at 16 kHz; scripts/make-warmup-speech.mjs). */
const FILE = new URL('../../assets/warmup-speech.pcm', import.meta.url);
export const WARMUP_SPEECH_TEXT = 'Please check the speech model.';

let cached: Int16Array | undefined;

/**
 * The warmup audio ModelManager decodes by default: real speech, so the engine runs the path a user's first
 * request takes (a Whisper decoder given non-speech searches longer and warms less of what matters).
 */
export function warmupSpeech(): Int16Array {
  if (!cached) {
    const buf = readFileSync(FILE);
    cached = new Int16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  }
  return cached;
}
