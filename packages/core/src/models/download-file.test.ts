import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { downloadFile, partialPath, type DownloadProgress } from './download-file.js';
import { startFileServer, type FileServer, type ServedFile } from './__fixtures__/file-server.js';

const data = randomBytes(3 * 1024 * 1024 + 123);
const sha = createHash('sha256').update(data).digest('hex');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'download-'));
let server: FileServer;
const files: Record<string, ServedFile> = {};

beforeAll(async () => {
  server = await startFileServer(files);
});
afterAll(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => server.requests.splice(0));

function dest(name: string): string {
  return path.join(tmp, name, 'model.bin');
}

describe('downloadFile against a loopback HTTP server', () => {
  it('downloads, verifies and renames into place, reporting progress', async () => {
    files['/full'] = { data };
    const events: DownloadProgress[] = [];
    const r = await downloadFile({ url: `${server.url}/full`, dest: dest('full'), expectedSize: data.length, expectedSha256: sha, onProgress: (p) => events.push(p) });
    expect(r).toMatchObject({ sizeBytes: data.length, sha256: sha, resumes: 0 });
    expect(readFileSync(dest('full')).equals(data)).toBe(true);
    expect(existsSync(partialPath(dest('full')))).toBe(false);
    expect(events.length).toBeGreaterThan(1);
    expect(events.at(-1)).toMatchObject({ bytes: data.length, total: data.length, etaSeconds: 0 });
    expect(events.every((e, i) => i === 0 || e.bytes > events[i - 1].bytes)).toBe(true);
  });

  it('keeps the partial file after a dropped connection and resumes it with a Range request', async () => {
    files['/cut'] = { data, fault: { kind: 'cut', bytes: 1024 * 1024, times: 1 } };
    const target = dest('cut');
    const first = await downloadFile({ url: `${server.url}/cut`, dest: target, expectedSize: data.length, expectedSha256: sha, retries: 0 }).catch((e: unknown) => e);
    expect(first).toMatchObject({ code: 'DOWNLOAD_FAILED' });
    const kept = statSync(partialPath(target)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(data.length);

    const r = await downloadFile({ url: `${server.url}/cut`, dest: target, expectedSize: data.length, expectedSha256: sha });
    expect(r.resumes).toBe(1);
    expect(readFileSync(target).equals(data)).toBe(true);
    expect(server.requests.map((q) => [q.range ?? null, q.status])).toEqual([[null, 200], [`bytes=${kept}-`, 206]]);
  });

  it('resumes on its own within one call when retries are allowed', async () => {
    files['/cut2'] = { data, fault: { kind: 'cut', bytes: 512 * 1024, times: 1 } };
    const r = await downloadFile({ url: `${server.url}/cut2`, dest: dest('cut2'), expectedSize: data.length, expectedSha256: sha, retries: 2 });
    expect(r.resumes).toBe(1);
    expect(readFileSync(dest('cut2')).equals(data)).toBe(true);
    expect(server.requests.map((q) => q.status)).toEqual([200, 206]);
  });

  it('deletes the temp file and fails with CHECKSUM_MISMATCH on a corrupted byte', async () => {
    files['/corrupt'] = { data, fault: { kind: 'corrupt', at: 1_000_000 } };
    const target = dest('corrupt');
    await expect(downloadFile({ url: `${server.url}/corrupt`, dest: target, expectedSize: data.length, expectedSha256: sha })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
      details: { expectedSha256: sha },
    });
    expect(existsSync(target)).toBe(false);
    expect(existsSync(partialPath(target))).toBe(false);
  });

  it('fails with DOWNLOAD_FAILED (status 404) for a missing file, without retrying', async () => {
    await expect(downloadFile({ url: `${server.url}/missing`, dest: dest('missing'), retries: 3 })).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      details: { status: 404 },
    });
    expect(server.requests).toHaveLength(1);
    expect(existsSync(dest('missing'))).toBe(false);
  });

  it('times out a stalled transfer (DOWNLOAD_TIMEOUT) and keeps what arrived for a later resume', async () => {
    files['/stall'] = { data, fault: { kind: 'stall', bytes: 256 * 1024 } };
    const target = dest('stall');
    const started = Date.now();
    await expect(downloadFile({ url: `${server.url}/stall`, dest: target, expectedSize: data.length, idleTimeoutMs: 300, retries: 0 })).rejects.toMatchObject({
      code: 'DOWNLOAD_TIMEOUT',
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(statSync(partialPath(target)).size).toBe(256 * 1024);
    files['/stall'].fault = { kind: 'none' };
    const r = await downloadFile({ url: `${server.url}/stall`, dest: target, expectedSize: data.length, expectedSha256: sha });
    expect(r.resumes).toBe(1);
    expect(readFileSync(target).equals(data)).toBe(true);
  });

  it('times out a server that never answers', async () => {
    files['/silent'] = { data, fault: { kind: 'no-response' } };
    await expect(downloadFile({ url: `${server.url}/silent`, dest: dest('silent'), connectTimeoutMs: 300, retries: 1 })).rejects.toMatchObject({
      code: 'DOWNLOAD_TIMEOUT',
      message: expect.stringContaining('no response within 300 ms'),
    });
    expect(server.requests).toHaveLength(2);
  });

  it('treats a complete partial file answered with 416 as done and verifies it', async () => {
    files['/done'] = { data };
    const target = dest('done');
    await downloadFile({ url: `${server.url}/done`, dest: target });
    // A partial file that already has every byte (e.g. the process died before the rename).
    writeFileSync(partialPath(target), data);
    rmSync(target);
    server.requests.splice(0);
    const r = await downloadFile({ url: `${server.url}/done`, dest: target, expectedSha256: sha });
    expect(r.sha256).toBe(sha);
    expect(server.requests.map((q) => q.status)).toEqual([416]);
  });

  it('refuses to start without enough free disk space (INSUFFICIENT_DISK)', async () => {
    files['/big'] = { data };
    await expect(downloadFile({ url: `${server.url}/big`, dest: dest('big'), expectedSize: data.length, diskMarginBytes: 1e18 })).rejects.toMatchObject({
      code: 'INSUFFICIENT_DISK',
    });
    expect(server.requests).toHaveLength(0);
  });
});
