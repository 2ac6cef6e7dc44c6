import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { convertCt2ToGgml } from '@echopanel/whisper-models';
import { writeTinyCt2Model } from '@echopanel/whisper-models/testing';
import type { CatalogEntry } from './model-catalog.js';
import { ModelStore } from './model-store.js';
import { startFileServer, type FileServer, type ServedFile } from './__fixtures__/file-server.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'model-store-'));
const files: Record<string, ServedFile> = {};
let server: FileServer;
let ggml: Buffer;
let ct2Dir: string;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  server = await startFileServer(files);
  ct2Dir = path.join(tmp, 'src-ct2');
  writeTinyCt2Model(ct2Dir);
  writeFileSync(path.join(ct2Dir, 'vocabulary.txt'), 'a\nb\n<|endoftext|>\n');
  await convertCt2ToGgml({ from: ct2Dir, to: path.join(tmp, 'tiny.ggml') });
  ggml = readFileSync(path.join(tmp, 'tiny.ggml'));
  files['/ggml/tiny.bin'] = { data: ggml, chunkDelayMs: 5 };
  for (const f of ['model.bin', 'config.json', 'tokenizer.json', 'vocabulary.txt']) files[`/ct2/${f}`] = { data: readFileSync(path.join(ct2Dir, f)) };
});
afterAll(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => server.requests.splice(0));

function catalog(overrides: { sha256?: string | null } = {}): CatalogEntry[] {
  const ggmlSha = overrides.sha256 === null ? undefined : overrides.sha256 ?? sha(ggml);
  return [
    {
      name: 'tiny.en', format: 'ggml', repo: 'test/ggml', revision: 'r1', primary: 'ggml-tiny.en.bin', description: 'test',
      files: [{ path: 'ggml-tiny.en.bin', url: `${server.url}/ggml/tiny.bin`, sizeBytes: ggml.length, ...(ggmlSha ? { sha256: ggmlSha } : {}) }],
    },
    {
      name: 'tiny.en', format: 'ct2', repo: 'test/ct2', revision: 'r2', primary: 'model.bin', description: 'test',
      files: ['model.bin', 'config.json', 'tokenizer.json', 'vocabulary.txt'].map((f) => ({ path: f, url: `${server.url}/ct2/${f}` })),
    },
  ];
}

function newStore(root: string, overrides: { sha256?: string | null } = {}): ModelStore {
  return new ModelStore({ root, catalog: catalog(overrides) });
}

describe('ModelStore', () => {
  it('pulls a ggml model into <root>/ggml/<name>/ with a manifest and lists it as installed and verified', async () => {
    const root = path.join(tmp, 'pull');
    const store = newStore(root);
    const progress: number[] = [];
    const r = await store.pull('tiny.en', 'ggml', { onProgress: (p) => progress.push(p.bytes) });
    expect(r.resolvedBy).toBe('download');
    expect(r.path).toBe(path.join(root, 'ggml', 'tiny.en', 'ggml-tiny.en.bin'));
    expect(readFileSync(r.path).equals(ggml)).toBe(true);
    expect(progress.at(-1)).toBe(ggml.length);
    const m = JSON.parse(readFileSync(path.join(root, 'ggml', 'tiny.en', 'manifest.json'), 'utf8'));
    expect(m).toMatchObject({
      name: 'tiny.en', format: 'ggml', version: 'test/ggml@r1', source: `${server.url}/ggml/tiny.bin`,
      sizeBytes: ggml.length, sha256: sha(ggml), primary: 'ggml-tiny.en.bin',
    });
    expect(Date.parse(m.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(r.identity).toMatchObject({ name: 'tiny.en', format: 'ggml', version: 'test/ggml@r1', sha256: sha(ggml), sizeBytes: ggml.length });
    const rows = await store.list();
    expect(rows.find((x) => x.format === 'ggml' && x.name === 'tiny.en')).toMatchObject({ installed: true, verified: true, path: r.path, sha256: sha(ggml) });
    expect(rows.find((x) => x.format === 'ct2' && x.name === 'tiny.en')).toMatchObject({ installed: false, verified: false });

    // A second pull finds it installed and downloads nothing.
    server.requests.splice(0);
    expect((await store.pull('tiny.en', 'ggml')).resolvedBy).toBe('store');
    expect(server.requests).toHaveLength(0);
  });

  it('lets only one of two concurrent pulls download; the other waits and finds it installed', async () => {
    const root = path.join(tmp, 'concurrent');
    const [a, b] = await Promise.all([newStore(root).pull('tiny.en', 'ggml'), newStore(root).pull('tiny.en', 'ggml')]);
    expect(a.path).toBe(b.path);
    expect([a.resolvedBy, b.resolvedBy].sort()).toEqual(['download', 'store']);
    expect(server.requests.filter((q) => q.path === '/ggml/tiny.bin')).toHaveLength(1);
    expect(readFileSync(a.path).equals(ggml)).toBe(true);
  });

  it('takes over a lock left by a dead process', async () => {
    const root = path.join(tmp, 'stale');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    mkdirSync(path.join(root, '.locks'), { recursive: true });
    writeFileSync(path.join(root, '.locks', 'ggml-tiny.en.lock'), `${dead}\n`);
    const r = await newStore(root).pull('tiny.en', 'ggml');
    expect(r.resolvedBy).toBe('download');
    expect(existsSync(path.join(root, '.locks', 'ggml-tiny.en.lock'))).toBe(false);
  });

  it('records the computed sha256 when the catalog has none, and refuses a wrong one', async () => {
    const unknown = await newStore(path.join(tmp, 'nosha'), { sha256: null }).pull('tiny.en', 'ggml');
    expect(unknown.identity.sha256).toBe(sha(ggml));

    const root = path.join(tmp, 'badsha');
    await expect(newStore(root, { sha256: '0'.repeat(64) }).pull('tiny.en', 'ggml')).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    expect(await newStore(root).read('tiny.en', 'ggml')).toBeUndefined();
    expect(existsSync(path.join(root, 'ggml', 'tiny.en'))).toBe(false);
  });

  it('pulls a multi-file ct2 model; its identity is the sha256 of model.bin', async () => {
    const store = newStore(path.join(tmp, 'ct2'));
    const r = await store.pull('tiny.en', 'ct2');
    expect(r.path).toBe(path.join(tmp, 'ct2', 'ct2', 'tiny.en'));
    expect(r.identity.sha256).toBe(sha(readFileSync(path.join(ct2Dir, 'model.bin'))));
    const m = await store.read('tiny.en', 'ct2');
    expect(m?.files.map((f) => f.path)).toEqual(['config.json', 'model.bin', 'tokenizer.json', 'vocabulary.txt']);
  });

  it('detects corruption: truncation in the cheap check, a flipped byte in full verification', async () => {
    const root = path.join(tmp, 'corrupt');
    const store = newStore(root);
    const r = await store.pull('tiny.en', 'ggml');
    expect((await store.verify('tiny.en', 'ggml')).verifiedAt).toBeDefined();

    const bytes = readFileSync(r.path);
    bytes[bytes.length - 10] ^= 0x01;
    writeFileSync(r.path, bytes);
    expect((await store.check('tiny.en', 'ggml')).ok).toBe(true);
    await expect(store.verify('tiny.en', 'ggml')).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringContaining('sha256') });

    truncateSync(r.path, 1000);
    const report = await store.check('tiny.en', 'ggml');
    expect(report.ok).toBe(false);
    expect(report.problems.join()).toContain('1000 bytes');
    expect((await store.list()).find((x) => x.installed)).toMatchObject({ verified: false, problem: expect.stringContaining('1000 bytes') });

    // Bad magic with the right size (a file replaced by something else) is caught by the header check.
    writeFileSync(r.path, Buffer.alloc(ggml.length));
    expect((await store.check('tiny.en', 'ggml')).problems.join()).toContain('bad magic');

    // The pull repairs it.
    expect((await store.pull('tiny.en', 'ggml')).resolvedBy).toBe('download');
    expect((await store.verify('tiny.en', 'ggml')).sha256).toBe(sha(ggml));
  });

  it('removes models', async () => {
    const store = newStore(path.join(tmp, 'remove'));
    const r = await store.pull('tiny.en', 'ggml');
    expect(await store.remove('tiny.en', 'ggml')).toBe(true);
    expect(existsSync(path.dirname(r.path))).toBe(false);
    expect(await store.remove('tiny.en', 'ggml')).toBe(false);
  });

  it('rejects names that could leave the store (INVALID_MODEL_NAME) and unknown catalog names (MODEL_NOT_FOUND)', async () => {
    const store = newStore(path.join(tmp, 'names'));
    for (const bad of ['..', '../tiny.en', 'a/b', '/etc/passwd', '', '.hidden', 'x..y', 'a\\b']) {
      expect(() => store.modelDir(bad, 'ggml')).toThrow(expect.objectContaining({ code: 'INVALID_MODEL_NAME' }));
      await expect(store.pull(bad, 'ggml')).rejects.toMatchObject({ code: 'INVALID_MODEL_NAME' });
      await expect(store.remove(bad, 'ggml')).rejects.toMatchObject({ code: 'INVALID_MODEL_NAME' });
    }
    await expect(store.pull('huge.en', 'ggml')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringContaining('tiny.en') });
  });

  it('installs a built model atomically with a manifest of every file', async () => {
    const store = newStore(path.join(tmp, 'install'));
    const r = await store.install({
      name: 'custom', format: 'ggml', version: 'v-test', source: 'unit test', primary: 'ggml-custom.bin',
      build: async (dir) => writeFileSync(path.join(dir, 'ggml-custom.bin'), ggml),
    });
    expect(r.identity).toMatchObject({ name: 'custom', version: 'v-test', source: 'unit test', sha256: sha(ggml) });
    expect(statSync(r.path).size).toBe(ggml.length);
    // A build that produces a non-ggml file is refused and leaves nothing installed.
    await expect(store.install({
      name: 'junk', format: 'ggml', version: 'x', source: 'x', primary: 'ggml-junk.bin',
      build: async (dir) => writeFileSync(path.join(dir, 'ggml-junk.bin'), Buffer.alloc(4096)),
    })).rejects.toMatchObject({ code: 'MODEL_CORRUPT' });
    expect(await store.read('junk', 'ggml')).toBeUndefined();
  });
});
