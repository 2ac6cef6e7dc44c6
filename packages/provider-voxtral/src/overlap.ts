/** Lower-cased word without punctuation, for comparing transcripts. */
export function normalizeWord(word: string): string {
  return word.toLowerCase().replace(/[\p{P}\p{S}]/gu, '');
}

/** Up to this many leading words of a restarted transcript may be garbage (audio replayed from mid-word). */
const MAX_SKIP = 2;

function equalRun(a: readonly string[], aFrom: number, b: readonly string[], bFrom: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[aFrom + i] !== b[bFrom + i]) return false;
  return true;
}

function containsRun(haystack: readonly string[], run: readonly string[], from: number): boolean {
  const n = run.length - from;
  for (let j = 0; j + n <= haystack.length; j++) if (equalRun(haystack, j, run, from, n)) return true;
  return false;
}

/**
 * After a restart the engine re-transcribes audio from before the last final (the replay margin), so its first
 * words may repeat the end of what was already committed. Given the committed tail and the new words (both
 * normalized), returns how many leading new words to drop, or `'hold'` while the new words so far all lie inside
 * the committed text (they may still turn out to be a repeat). With `final`, a decision is forced.
 */
export function resolveOverlap(committed: readonly string[], incoming: readonly string[], final: boolean): number | 'hold' {
  if (committed.length === 0 || incoming.length === 0) return 0;
  const maxSkip = Math.min(MAX_SKIP, incoming.length - 1);
  for (let skip = 0; skip <= maxSkip; skip++) {
    if (containsRun(committed, incoming, skip)) {
      // Everything new is a repeat so far: wait for more, or (final) drop it all.
      if (!final) return 'hold';
      if (skip === 0 || incoming.length - skip >= 2) return incoming.length;
    }
  }
  let best = 0;
  for (let skip = 0; skip <= maxSkip; skip++) {
    const rest = incoming.length - skip;
    // A single word after skipping garbage is too weak a match to drop text on.
    const minK = skip === 0 ? 1 : 2;
    for (let k = Math.min(committed.length, rest); k >= minK; k--) {
      if (equalRun(committed, committed.length - k, incoming, skip, k)) {
        best = Math.max(best, skip + k);
        break;
      }
    }
  }
  return best;
}
