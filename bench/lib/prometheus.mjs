// Reading the server's /metrics (Prometheus text format) in benchmarks.

/** Every sample line as { name, labels (the raw `{…}` or ''), value }. */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(\{[^}]*\})? ([0-9.eE+-]+|NaN|[+-]Inf)$/.exec(line);
    if (m) out.push({ name: m[1], labels: m[2] ?? '', value: Number(m[3]) });
  }
  return out;
}

/** The value of the first series named `name` (any labels), NaN when absent. */
export function metricValue(text, name) {
  return parseMetrics(text).find((s) => s.name === name)?.value ?? NaN;
}

/**
 * Sum and count of every histogram or summary whose name starts with `prefix` (label sets added up), keyed by
 * its base name: { echopanel_x_seconds: { sum, count } }.
 */
export function histogramTotals(text, prefix) {
  const out = {};
  for (const s of parseMetrics(text)) {
    const m = /^(.*)_(sum|count)$/.exec(s.name);
    if (!m || !s.name.startsWith(prefix)) continue;
    out[m[1]] ??= { sum: 0, count: 0 };
    out[m[1]][m[2]] += s.value;
  }
  return out;
}
