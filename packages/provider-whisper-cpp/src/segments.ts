import type { RawSegment } from '@echopanel/engine-kit';
import type { NativeSegment } from './native-engine.js';

type NativeToken = NonNullable<NativeSegment['tokens']>[number];

/** whisper.cpp's special tokens print as `[_BEG_]`, `[_TT_150]`, `<|endoftext|>`... */
function isSpecial(token: NativeToken): boolean {
  return /^\[_|^<\|/.test(token.text);
}

/** Joins BPE tokens into words: a token starting with a space starts a new word. Times are seconds. */
export function tokensToWords(tokens: readonly NativeToken[]): NonNullable<RawSegment['words']> {
  const words: { word: string; start: number; end: number; probability: number; n: number }[] = [];
  for (const t of tokens) {
    if (isSpecial(t) || t.from === undefined || t.to === undefined) continue;
    const last = words[words.length - 1];
    if (!last || /^\s/.test(t.text)) {
      if (!t.text.trim()) continue;
      words.push({ word: t.text.trim(), start: t.from / 1000, end: t.to / 1000, probability: t.p, n: 1 });
    } else {
      last.word += t.text;
      last.end = t.to / 1000;
      last.probability += t.p;
      last.n++;
    }
  }
  return words.map((w) => ({ word: w.word, start: w.start, end: Math.max(w.start, w.end), probability: w.probability / w.n }));
}

/** smart-whisper segments (ms, relative to the decoded audio) → the shared RawSegment (seconds). */
export function toRawSegments(native: readonly NativeSegment[], withWords: boolean): RawSegment[] {
  return native.map((s) => ({
    text: s.text,
    start: s.from / 1000,
    end: s.to / 1000,
    ...(typeof s.confidence === 'number' && Number.isFinite(s.confidence) ? { confidence: Math.max(0, Math.min(1, s.confidence)) } : {}),
    ...(s.lang ? { language: s.lang } : {}),
    ...(withWords && s.tokens ? { words: tokensToWords(s.tokens) } : {}),
  }));
}
