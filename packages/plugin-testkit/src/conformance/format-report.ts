import type { ConformanceCheckResult, ConformanceReport } from './types.js';

const MARK = { passed: 'PASS', failed: 'FAIL', skipped: 'SKIP' } as const;

/** One line per check: `PASS load-unload  (812 ms)  detail`. */
export function formatCheckResult(r: ConformanceCheckResult): string {
  return `${MARK[r.status]}  ${r.id.padEnd(21)} ${`(${r.durationMs} ms)`.padStart(11)}  ${r.detail}`;
}

/** The report as a CLI prints it: a line per check, then the summary. */
export function formatConformanceReport(report: ConformanceReport): string {
  const count = (s: ConformanceCheckResult['status']) => report.results.filter((r) => r.status === s).length;
  return [
    ...report.results.map(formatCheckResult),
    `${report.plugin}: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped (corpus: ${report.corpus})`,
  ].join('\n');
}
