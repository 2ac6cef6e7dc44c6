/** Text of a partial result split into the part two successive decodes agreed on and the rest. */
export interface AgreedText {
  /** Confirmed prefix: stays as it is until the final (it only grows). */
  readonly stable: string;
  /** Everything after the stable prefix in the latest hypothesis. */
  readonly unstable: string;
  /** stable + unstable. */
  readonly text: string;
}

/**
 * Local agreement over re-decodes of a growing utterance: the words the last two hypotheses share as a prefix
 * (compared case- and punctuation-insensitively) become stable and stay stable.
 */
export class LocalAgreement {
  private previous: string[] = [];
  private confirmed: string[] = [];

  update(hypothesis: string): AgreedText {
    const words = hypothesis.trim().split(/\s+/).filter(Boolean);
    const agreed = commonPrefix(this.previous, words);
    if (agreed > this.confirmed.length) this.confirmed = words.slice(0, agreed);
    this.previous = words;
    const rest = words.length > this.confirmed.length ? words.slice(this.confirmed.length) : [];
    const stable = this.confirmed.join(' ');
    const unstable = rest.join(' ');
    return { stable, unstable, text: [stable, unstable].filter(Boolean).join(' ') };
  }

  reset(): void {
    this.previous = [];
    this.confirmed = [];
  }
}

/** A word as agreement compares it: case and punctuation ignored. */
export function wordKey(word: string): string {
  return word.toLowerCase().replace(/[^\p{L}\p{N}']/gu, '');
}

function commonPrefix(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && wordKey(a[i]) === wordKey(b[i])) i++;
  return i;
}
