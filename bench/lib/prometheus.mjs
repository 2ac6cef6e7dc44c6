// Reading the server's /metrics (Prometheus text format) in benchmarks.

/** Every sample line as { name, labels: { key: value }, value }. */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{([^}]*)\})? ([0-9.eE+-]+|NaN|[+-]Inf)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the first series named `name` whose labels include `labels`, NaN when absent. */
export function metricValue(text, name, labels = {}) {
  return parseMetrics(text).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value ?? NaN;
}

/** The series of `name` keyed by the value of one label: { [labelValue]: value }. */
export function metricByLabel(text, name, label) {
  return Object.fromEntries(parseMetrics(text).filter((s) => s.name === name).map((s) => [s.labels[label] ?? '', s.value]));
}
