// Summary statistics and formatting shared by the bench and eval scripts.

/** Sorted copy. */
const sorted = (xs) => [...xs].sort((a, b) => a - b);

/** Value at quantile q (0..1), nearest-rank on the sorted sample. */
export function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

export const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** { median, min, max, n } of a sample. */
export function summary(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/** "median (min–max)" with `digits` decimals. */
export function fmtRange(s, digits = 0, unit = '') {
  if (!s || !Number.isFinite(s.median)) return 'n/a';
  const f = (x) => x.toFixed(digits);
  return `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)})`;
}

export function fmt(x, digits = 2, unit = '') {
  return Number.isFinite(x) ? `${x.toFixed(digits)}${unit}` : 'n/a';
}

/** A Markdown table from a header row and rows of cells. */
export function markdownTable(header, rows) {
  const line = (cells) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Round every number in a JSON-able value to `digits` decimals (keeps result files readable). */
export function roundDeep(value, digits = 4) {
  if (typeof value === 'number') return Number.isFinite(value) ? Number(value.toFixed(digits)) : null;
  if (Array.isArray(value)) return value.map((v) => roundDeep(v, digits));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundDeep(v, digits)]));
  return value;
}
