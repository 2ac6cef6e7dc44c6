import { normalizeWord, resolveOverlap } from './overlap.js';

const w = (s: string) => s.split(/\s+/).filter(Boolean).map(normalizeWord);

describe('resolveOverlap', () => {
  it('normalizes case and punctuation', () => {
    expect(w('Hello, World! «Ça»')).toEqual(['hello', 'world', 'ça']);
  });

  it('holds while the new words all lie inside the committed text', () => {
    expect(resolveOverlap(w('a b c d'), w('b c'), false)).toBe('hold');
    expect(resolveOverlap(w('a b c d'), w('x c d'), false)).toBe('hold');
  });

  it('drops the longest repeated run once the new text goes past it', () => {
    expect(resolveOverlap(w('a b c d'), w('c d e f'), false)).toBe(2);
    expect(resolveOverlap(w('a b c d'), w('a b c d e'), false)).toBe(4);
    expect(resolveOverlap(w('a b c d'), w('zz c d e'), false)).toBe(3);
  });

  it('keeps new text that does not repeat, and does not trust one word after skipped garbage', () => {
    expect(resolveOverlap(w('a b c d'), w('e f g'), false)).toBe(0);
    expect(resolveOverlap(w('a b c d'), w('zz d e'), false)).toBe(0);
  });

  it('at the end of the stream drops new text that only repeats', () => {
    expect(resolveOverlap(w('a b c d'), w('c d'), true)).toBe(2);
    expect(resolveOverlap(w('a b c d'), w('x'), true)).toBe(0);
    expect(resolveOverlap([], w('a b'), true)).toBe(0);
  });
});
