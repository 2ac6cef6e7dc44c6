import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isEchoPanelError } from '@echopanel/plugin-api';
import { bundledTinyEn } from './__fixtures__/test-context.js';
import { inspectGgmlFile } from './ggml-file.js';

const dir = path.join(os.tmpdir(), `echopanel-ggml-file-test-${process.pid}`);
mkdirSync(dir, { recursive: true });

function corruptKind(fn: () => unknown): { kind: unknown; message: string } {
  try {
    fn();
  } catch (err) {
    if (isEchoPanelError(err) && err.code === 'MODEL_CORRUPT') return { kind: err.details?.kind, message: err.message };
    throw err;
  }
  throw new Error('expected MODEL_CORRUPT');
}

describe('inspectGgmlFile', () => {
  let real: Buffer;
  let realPath: string;
  beforeAll(async () => {
    realPath = (await bundledTinyEn()).path;
    real = readFileSync(realPath);
  });

  function variant(name: string, bytes: Buffer): string {
    const p = path.join(dir, name);
    writeFileSync(p, bytes);
    return p;
  }

  it('reads the structure of a real converted tiny.en', () => {
    const info = inspectGgmlFile(realPath);
    expect(info).toMatchObject({ modelType: 'tiny', weightType: 'f16', englishOnly: true, sizeBytes: real.length });
    expect(info.hparams).toMatchObject({ nVocab: 51864, nAudioLayer: 4, nTextLayer: 4, nAudioState: 384, nMels: 80 });
    // 5 + 15·4 + 2 encoder tensors, 2 + 24·4 + 2 decoder tensors.
    expect(info.tensors).toBe(67 + 100);
  });

  it.each([
    ['inside the header', 20],
    ['inside the mel filters', 1000],
    ['inside the vocabulary', 100_000],
    ['inside a tensor header', -1],
    ['inside tensor data', 0.5],
    ['one byte short', 'last'],
  ])('finds a file truncated %s', (_where, at) => {
    let end: number;
    if (at === 'last') end = real.length - 1;
    else if (at === -1) end = findTensorHeader(real) + 6;
    else end = (at as number) < 1 ? Math.floor(real.length * (at as number)) : (at as number);
    const r = corruptKind(() => inspectGgmlFile(variant(`trunc-${end}.bin`, real.subarray(0, end))));
    expect(r.kind).toBe('truncated');
    expect(r.message).toMatch(/truncated/);
  });

  it('says a file of random bytes is not a whisper.cpp model', () => {
    const junk = Buffer.alloc(100_000);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) & 0xff;
    const r = corruptKind(() => inspectGgmlFile(variant('random.bin', junk)));
    expect(r).toMatchObject({ kind: 'not-ggml', message: expect.stringMatching(/not a whisper\.cpp ggml model/) });
  });

  it('refuses a header whisper.cpp would assert on (encoder/decoder width mismatch)', () => {
    const bad = Buffer.from(real);
    bad.writeInt32LE(512, 4 * 7); // n_text_state
    expect(corruptKind(() => inspectGgmlFile(variant('width.bin', bad))).message).toMatch(/mismatched encoder\/decoder widths/);
  });

  it('refuses a vocabulary entry with an absurd length (whisper.cpp would try to allocate it)', () => {
    const bad = Buffer.from(real);
    const vocabStart = 4 + 44 + 8 + 80 * 201 * 4;
    bad.writeUInt32LE(0x7fffffff, vocabStart + 4);
    expect(corruptKind(() => inspectGgmlFile(variant('vocab.bin', bad))).message).toMatch(/malformed vocabulary/);
  });

  it('refuses a tensor whisper.cpp does not know', () => {
    const bad = Buffer.from(real);
    const h = findTensorHeader(real);
    const nDims = real.readInt32LE(h);
    bad.write('X', h + 12 + 4 * nDims, 'latin1');
    expect(corruptKind(() => inspectGgmlFile(variant('name.bin', bad))).message).toMatch(/does not have/);
  });

  it('reports a missing file as MODEL_NOT_FOUND', () => {
    expect(() => inspectGgmlFile(path.join(dir, 'nope.bin'))).toThrow(expect.objectContaining({ code: 'MODEL_NOT_FOUND' }));
  });
});

/** Byte offset of the first tensor header (after magic, hparams, mel filters and the vocabulary). */
function findTensorHeader(b: Buffer): number {
  let p = 4 + 44;
  const nMel = b.readInt32LE(p);
  const nFft = b.readInt32LE(p + 4);
  p += 8 + nMel * nFft * 4;
  const nVocab = b.readInt32LE(p);
  p += 4;
  for (let i = 0; i < nVocab; i++) p += 4 + b.readUInt32LE(p);
  return p;
}
