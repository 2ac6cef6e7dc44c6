/** Word error rate with its edit counts. */
export interface WerResult {
  /** (substitutions + deletions + insertions) / reference words; 0 when both are empty. */
  readonly wer: number;
  readonly substitutions: number;
  readonly deletions: number;
  readonly insertions: number;
  readonly referenceWords: number;
  readonly hypothesisWords: number;
}

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve',
  'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

function numberToWords(n: number): string {
  if (n < 20) return ONES[n];
  if (n < 100) return TENS[Math.floor(n / 10)] + (n % 10 ? ' ' + ONES[n % 10] : '');
  if (n < 1000) return ONES[Math.floor(n / 100)] + ' hundred' + (n % 100 ? ' ' + numberToWords(n % 100) : '');
  for (const [size, word] of [[1e9, 'billion'], [1e6, 'million'], [1e3, 'thousand']] as const) {
    if (n >= size) return numberToWords(Math.floor(n / size)) + ' ' + word + (n % size ? ' ' + numberToWords(n % size) : '');
  }
  return String(n);
}

/**
 * The usual ASR normalization: lower case, digits spelled out (integers, "%" → percent), hyphens split,
 * punctuation removed, whitespace collapsed.
 */
export function normalizeTranscript(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/(\d),(\d{3})/g, '$1$2')
    .replace(/%/g, ' percent')
    .replace(/\d+/g, (d) => ` ${d.length > 12 ? d.split('').map((c) => ONES[Number(c)]).join(' ') : numberToWords(Number(d))} `)
    .replace(/[-‐–—/]/g, ' ')
    .replace(/[^\p{L}\p{N}'\s]/gu, ' ')
    .replace(/'(?!\p{L})|(?<!\p{L})'/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

/** Word error rate of `hypothesis` against `reference` after {@link normalizeTranscript}. */
export function wordErrorRate(reference: string, hypothesis: string): WerResult {
  const ref = normalizeTranscript(reference);
  const hyp = normalizeTranscript(hypothesis);
  const n = ref.length;
  const m = hyp.length;
  // dp over (cost, sub, del, ins) with one rolling row.
  type Cell = [number, number, number, number];
  let prev: Cell[] = Array.from({ length: m + 1 }, (_, j) => [j, 0, 0, j] as Cell);
  for (let i = 1; i <= n; i++) {
    const cur: Cell[] = [[i, 0, i, 0]];
    for (let j = 1; j <= m; j++) {
      const same = ref[i - 1] === hyp[j - 1];
      const diag = prev[j - 1];
      const up = prev[j];
      const left = cur[j - 1];
      let best: Cell = same ? [diag[0], diag[1], diag[2], diag[3]] : [diag[0] + 1, diag[1] + 1, diag[2], diag[3]];
      if (up[0] + 1 < best[0]) best = [up[0] + 1, up[1], up[2] + 1, up[3]];
      if (left[0] + 1 < best[0]) best = [left[0] + 1, left[1], left[2], left[3] + 1];
      cur.push(best);
    }
    prev = cur;
  }
  const [cost, substitutions, deletions, insertions] = prev[m];
  return {
    wer: n === 0 ? (m === 0 ? 0 : 1) : cost / n,
    substitutions,
    deletions,
    insertions,
    referenceWords: n,
    hypothesisWords: m,
  };
}
