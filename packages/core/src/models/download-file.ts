import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { EchoPanelError, isEchoPanelError } from '@echopanel/plugin-api';
import { hashFileInto } from './file-hash.js';

export interface DownloadProgress {
  readonly url: string;
  /** Bytes on disk so far (including a resumed part). */
  readonly bytes: number;
  /** Expected total, when known. */
  readonly total?: number;
  /** Bytes per second over this attempt. */
  readonly rate: number;
  /** Seconds left at the current rate, when the total is known. */
  readonly etaSeconds?: number;
  /** Bytes that were already on disk when this attempt started. */
  readonly resumedFrom: number;
}

export interface DownloadOptions {
  readonly url: string;
  /** Final path; written only after the sha256 check passed (atomic rename). */
  readonly dest: string;
  readonly expectedSize?: number;
  readonly expectedSha256?: string;
  readonly onProgress?: (p: DownloadProgress) => void;
  readonly signal?: AbortSignal;
  /** No response headers within this time → DOWNLOAD_TIMEOUT (default 30 s). */
  readonly connectTimeoutMs?: number;
  /** No body bytes for this long → DOWNLOAD_TIMEOUT (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** Extra attempts after a dropped connection or timeout, each resuming with a Range request (default 2). */
  readonly retries?: number;
  /** Extra free space required beyond the file itself (default 64 MiB). */
  readonly diskMarginBytes?: number;
  readonly fetch?: typeof fetch;
}

export interface DownloadResult {
  readonly path: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  /** Attempts that resumed a partial file with HTTP Range. */
  readonly resumes: number;
}

/** The temp file a download of `dest` streams into (kept between attempts so they can resume). */
export function partialPath(dest: string): string {
  return `${dest}.partial`;
}

/**
 * Streams `url` into `<dest>.partial`, resuming an existing partial file with HTTP Range, checks free disk space
 * first, verifies size and sha256 and only then renames to `dest`. A checksum mismatch deletes the temp file
 * (CHECKSUM_MISMATCH); timeouts and dropped connections keep it for the next attempt.
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const retries = options.retries ?? 2;
  await mkdir(path.dirname(options.dest), { recursive: true });
  let resumes = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      const resumed = await attemptDownload(options);
      resumes += resumed ? 1 : 0;
      break;
    } catch (err) {
      const retryable = isEchoPanelError(err) && (err.code === 'DOWNLOAD_TIMEOUT' || (err.code === 'DOWNLOAD_FAILED' && err.details?.retryable === true));
      if (!retryable || attempt >= retries || options.signal?.aborted) throw err;
    }
  }
  const tmp = partialPath(options.dest);
  const size = (await stat(tmp)).size;
  if (options.expectedSize !== undefined && size !== options.expectedSize) {
    await rm(tmp, { force: true });
    throw new EchoPanelError('CHECKSUM_MISMATCH', `${options.url}: got ${size} bytes, expected ${options.expectedSize}; the partial file was deleted, pull again`, {
      details: { url: options.url, size, expectedSize: options.expectedSize },
    });
  }
  const hash = createHash('sha256');
  await hashFileInto(hash, tmp);
  const sha256 = hash.digest('hex');
  if (options.expectedSha256 && sha256 !== options.expectedSha256.toLowerCase()) {
    await rm(tmp, { force: true });
    throw new EchoPanelError('CHECKSUM_MISMATCH',
      `${options.url}: sha256 ${sha256} does not match the expected ${options.expectedSha256}; the download was deleted. ` +
        'Pull again; if it repeats, the source changed or is tampered with.',
      { details: { url: options.url, sha256, expectedSha256: options.expectedSha256 } });
  }
  await rename(tmp, options.dest);
  return { path: options.dest, sizeBytes: size, sha256, resumes };
}

/** One HTTP request; returns whether it resumed. Leaves the complete body in the partial file. */
async function attemptDownload(options: DownloadOptions): Promise<boolean> {
  const tmp = partialPath(options.dest);
  const doFetch = options.fetch ?? fetch;
  let have = (await stat(tmp).catch(() => undefined))?.size ?? 0;
  if (options.expectedSize !== undefined && have > options.expectedSize) {
    await rm(tmp, { force: true });
    have = 0;
  }
  if (options.expectedSize !== undefined && have === options.expectedSize) return false;
  if (options.expectedSize !== undefined) await checkDisk(path.dirname(options.dest), options.expectedSize - have, options.diskMarginBytes);

  const controller = new AbortController();
  let timedOut: 'connect' | 'idle' | undefined;
  const onAbort = (): void => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const connectMs = options.connectTimeoutMs ?? 30_000;
  const idleMs = options.idleTimeoutMs ?? 60_000;
  let timer = setTimeout(() => {
    timedOut = 'connect';
    controller.abort();
  }, connectMs);
  const armIdle = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = 'idle';
      controller.abort();
    }, idleMs);
  };
  const fail = (err: unknown): never => {
    if (isEchoPanelError(err)) throw err;
    if (timedOut) {
      throw new EchoPanelError('DOWNLOAD_TIMEOUT',
        timedOut === 'connect'
          ? `${options.url}: no response within ${connectMs} ms`
          : `${options.url}: no data for ${idleMs} ms; the partial download is kept and the next pull resumes it`,
        { cause: err, details: { url: options.url } });
    }
    if (options.signal?.aborted) throw new EchoPanelError('ABORTED', `download of ${options.url} aborted`, { cause: err });
    throw new EchoPanelError('DOWNLOAD_FAILED', `${options.url}: ${(err as Error).message}; the partial download is kept and the next pull resumes it`, {
      cause: err,
      details: { url: options.url, retryable: true },
    });
  };

  try {
    let res: Response;
    try {
      res = await doFetch(options.url, { signal: controller.signal, headers: have > 0 ? { range: `bytes=${have}-` } : {} });
    } catch (err) {
      return fail(err);
    }
    let resumed = false;
    if (res.status === 206 && have > 0) {
      resumed = true;
    } else if (res.status === 416 && have > 0) {
      // The server has nothing past what we hold: the partial file is complete (the hash check decides).
      await res.body?.cancel();
      return false;
    } else if (res.status === 200) {
      have = 0;
    } else {
      await res.body?.cancel();
      throw new EchoPanelError('DOWNLOAD_FAILED', `${options.url}: HTTP ${res.status} ${res.statusText}`.trim(), {
        details: { url: options.url, status: res.status, retryable: res.status >= 500 },
      });
    }
    const length = Number(res.headers.get('content-length') ?? NaN);
    const total = options.expectedSize ?? (Number.isFinite(length) ? have + length : undefined);
    if (options.expectedSize === undefined && total !== undefined) await checkDisk(path.dirname(options.dest), total - have, options.diskMarginBytes);

    const fh = await open(tmp, resumed ? 'a' : 'w');
    const started = Date.now();
    const startBytes = have;
    let bytes = have;
    try {
      armIdle();
      const reader = res.body?.getReader();
      if (reader) {
        for (;;) {
          let chunk: { done: boolean; value?: Uint8Array };
          try {
            chunk = await reader.read();
          } catch (err) {
            return fail(err);
          }
          if (chunk.done || !chunk.value) break;
          armIdle();
          await fh.write(chunk.value);
          bytes += chunk.value.length;
          const elapsed = (Date.now() - started) / 1000;
          const rate = elapsed > 0 ? (bytes - startBytes) / elapsed : 0;
          options.onProgress?.({
            url: options.url,
            bytes,
            total,
            rate,
            etaSeconds: total !== undefined && rate > 0 ? (total - bytes) / rate : undefined,
            resumedFrom: startBytes,
          });
        }
      }
    } finally {
      await fh.close();
    }
    if (total !== undefined && bytes < total) {
      throw new EchoPanelError('DOWNLOAD_FAILED', `${options.url}: connection closed after ${bytes} of ${total} bytes; the next pull resumes it`, {
        details: { url: options.url, bytes, total, retryable: true },
      });
    }
    return resumed;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Throws INSUFFICIENT_DISK when `dir`'s file system cannot take `bytes` more (plus a margin). */
export async function checkDisk(dir: string, bytes: number, marginBytes = 64 * 1024 * 1024): Promise<void> {
  const s = await statfs(dir);
  const free = Number(s.bavail) * Number(s.bsize);
  if (free < bytes + marginBytes) {
    throw new EchoPanelError('INSUFFICIENT_DISK',
      `${dir} has ${(free / 1e6).toFixed(0)} MB free, the download needs ${((bytes + marginBytes) / 1e6).toFixed(0)} MB; free space or set ECHOPANEL_MODEL_DIR to a larger disk`,
      { details: { dir, free, needed: bytes + marginBytes } });
  }
}
