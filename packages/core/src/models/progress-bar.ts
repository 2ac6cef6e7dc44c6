import type { DownloadProgress } from './download-file.js';

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** One line of progress: `label [#####.....] 12.3/75.5 MB  4.1 MB/s  ETA 13s`. */
export function formatProgress(label: string, p: Pick<DownloadProgress, 'bytes' | 'total' | 'rate' | 'etaSeconds'>, width = 24): string {
  const rate = `${mb(p.rate)} MB/s`;
  if (p.total === undefined || p.total <= 0) return `${label} ${mb(p.bytes)} MB  ${rate}`;
  const frac = Math.min(1, p.bytes / p.total);
  const filled = Math.round(frac * width);
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
  return `${label} [${bar}] ${mb(p.bytes)}/${mb(p.total)} MB  ${rate}  ETA ${duration(p.etaSeconds ?? NaN)}`;
}

/**
 * A progress bar for a TTY stream (redrawn in place, at most every `intervalMs`); on a non-TTY it prints
 * nothing until `done`, which writes one summary line.
 */
export function createProgressBar(stream: NodeJS.WriteStream, label: string, intervalMs = 100): {
  update(p: Pick<DownloadProgress, 'bytes' | 'total' | 'rate' | 'etaSeconds'>): void;
  done(summary?: string): void;
} {
  let last = 0;
  let lastLine = '';
  return {
    update(p) {
      lastLine = formatProgress(label, p);
      const now = Date.now();
      if (!stream.isTTY || now - last < intervalMs) return;
      last = now;
      stream.write(`\r${lastLine.padEnd((stream.columns ?? 80) - 1).slice(0, (stream.columns ?? 80) - 1)}`);
    },
    done(summary) {
      if (stream.isTTY) stream.write(`\r${' '.repeat((stream.columns ?? 80) - 1)}\r`);
      stream.write(`${summary ?? lastLine}\n`);
    },
  };
}
