import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasErrorCode } from '@echopanel/plugin-api';
import { convertCt2ToGgml } from './ct2-to-ggml.js';
import { encodeCt2, tinyTokenBytes, TINY_DIMS, writeTinyCt2Model } from './testing/ct2-writer.js';
import { readGgml } from './testing/ggml-reader.js';
import { readGgmlHeader } from './ggml-file.js';
import { melFilterbank } from './mel-filters.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ct2-ggml-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The tensor names whisper.cpp's loader creates (whisper_model_load), for the given layer counts. */
function expectedNames(enc: number, dec: number): string[] {
  const names = ['encoder.positional_embedding', 'encoder.conv1.weight', 'encoder.conv1.bias', 'encoder.conv2.weight', 'encoder.conv2.bias',
    'encoder.ln_post.weight', 'encoder.ln_post.bias', 'decoder.positional_embedding', 'decoder.token_embedding.weight', 'decoder.ln.weight', 'decoder.ln.bias'];
  const wb = (p: string): string[] => [`${p}.weight`, `${p}.bias`];
  const attn = (p: string): string[] => [`${p}.query.weight`, `${p}.query.bias`, `${p}.key.weight`, `${p}.value.weight`, `${p}.value.bias`, ...wb(`${p}.out`)];
  for (let i = 0; i < enc; i++) {
    const p = `encoder.blocks.${i}`;
    names.push(...wb(`${p}.mlp_ln`), ...wb(`${p}.mlp.0`), ...wb(`${p}.mlp.2`), ...wb(`${p}.attn_ln`), ...attn(`${p}.attn`));
  }
  for (let i = 0; i < dec; i++) {
    const p = `decoder.blocks.${i}`;
    names.push(...wb(`${p}.mlp_ln`), ...wb(`${p}.mlp.0`), ...wb(`${p}.mlp.2`), ...wb(`${p}.attn_ln`), ...attn(`${p}.attn`), ...wb(`${p}.cross_attn_ln`), ...attn(`${p}.cross_attn`));
  }
  return names.sort();
}

function rows(values: Float32Array, rowSize: number, from: number, to: number): Float32Array {
  return values.subarray(from * rowSize, to * rowSize);
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3));
  return m;
}

describe('convertCt2ToGgml on a small synthetic model', () => {
  const d = TINY_DIMS;
  const s = d.state;

  it('writes every tensor whisper.cpp loads, with split projections, reversed dims and the right types', async () => {
    const dir = path.join(tmp, 'f16');
    const src = writeTinyCt2Model(dir, { dtype: 'float16' });
    const out = path.join(tmp, 'f16.bin');
    const progress: number[] = [];
    const r = await convertCt2ToGgml({ from: dir, to: out, onProgress: (p) => progress.push(p.tensorsDone) });
    const g = readGgml(out);

    expect(g.magic).toBe(0x67676d6c);
    expect(g.hparams).toEqual({
      nVocab: d.tokens + d.specials, nAudioCtx: d.audioCtx, nAudioState: s, nAudioHead: d.heads, nAudioLayer: d.encLayers,
      nTextCtx: d.textCtx, nTextState: s, nTextHead: d.heads, nTextLayer: d.decLayers, nMels: d.mels, ftype: 1,
    });
    expect([...g.tensors.keys()].sort()).toEqual(expectedNames(d.encLayers, d.decLayers));
    expect(r.tensors).toBe(g.tensors.size);
    expect(progress).toEqual(Array.from({ length: g.tensors.size }, (_, i) => i + 1));
    expect(r.sizeBytes).toBe(readFileSync(out).length);

    // 1-D tensors, conv biases and positional embeddings are f32; matrices f16 (as convert-pt-to-ggml.py writes).
    for (const t of g.tensors.values()) {
      const f32 = t.ne.length === 1 || t.name.endsWith('conv1.bias') || t.name.endsWith('conv2.bias') || t.name.endsWith('positional_embedding');
      expect([t.name, t.type]).toEqual([t.name, f32 ? 0 : 1]);
    }
    expect(g.tensors.get('encoder.conv1.weight')?.ne).toEqual([3, d.mels, s]);
    expect(g.tensors.get('encoder.conv1.bias')?.ne).toEqual([1, s]);
    expect(g.tensors.get('decoder.token_embedding.weight')?.ne).toEqual([s, d.tokens + d.specials]);
    expect(g.tensors.get('encoder.positional_embedding')?.ne).toEqual([s, d.audioCtx]);
    expect(g.tensors.get('encoder.blocks.0.mlp.0.weight')?.ne).toEqual([s, 4 * s]);

    // Fused Q/K/V rows split in order; the K bias is dropped; gamma/beta → weight/bias.
    for (const [side, i] of [['encoder', 1], ['decoder', 0]] as const) {
      const fused = src.get(`${side}/layer_${i}/self_attention/linear_0/weight`)!.values;
      const bias = src.get(`${side}/layer_${i}/self_attention/linear_0/bias`)!.values;
      const p = `${side}.blocks.${i}.attn`;
      expect(g.tensors.get(`${p}.query.weight`)!.values).toEqual(rows(fused, s, 0, s));
      expect(g.tensors.get(`${p}.key.weight`)!.values).toEqual(rows(fused, s, s, 2 * s));
      expect(g.tensors.get(`${p}.value.weight`)!.values).toEqual(rows(fused, s, 2 * s, 3 * s));
      expect(g.tensors.get(`${p}.query.bias`)!.values).toEqual(bias.subarray(0, s));
      expect(g.tensors.get(`${p}.value.bias`)!.values).toEqual(bias.subarray(2 * s, 3 * s));
      expect(g.tensors.has(`${p}.key.bias`)).toBe(false);
      expect(g.tensors.get(`${side}.blocks.${i}.attn_ln.weight`)!.values).toEqual(src.get(`${side}/layer_${i}/self_attention/layer_norm/gamma`)!.values);
    }
    const kv = src.get('decoder/layer_0/attention/linear_1/weight')!.values;
    expect(g.tensors.get('decoder.blocks.0.cross_attn.key.weight')!.values).toEqual(rows(kv, s, 0, s));
    expect(g.tensors.get('decoder.blocks.0.cross_attn.value.weight')!.values).toEqual(rows(kv, s, s, 2 * s));
    expect(g.tensors.get('decoder.blocks.0.cross_attn.query.weight')!.values).toEqual(src.get('decoder/layer_0/attention/linear_0/weight')!.values);
    expect(g.tensors.get('decoder.blocks.0.cross_attn.out.bias')!.values).toEqual(src.get('decoder/layer_0/attention/linear_2/bias')!.values);
    expect(g.tensors.get('encoder.ln_post.bias')!.values).toEqual(src.get('encoder/layer_norm/beta')!.values);
    expect(g.tensors.get('decoder.blocks.0.mlp.2.weight')!.values).toEqual(src.get('decoder/layer_0/ffn/linear_1/weight')!.values);

    // Vocabulary: regular tokens as raw bytes, specials left to whisper.cpp.
    expect(g.vocab).toHaveLength(d.tokens);
    g.vocab.forEach((tok, i) => expect(tok.equals(tinyTokenBytes(i))).toBe(true));
    // Mel filters computed for n_mels.
    expect(g.mel.nMel).toBe(80);
    expect(g.mel.nFft).toBe(201);
    expect(g.mel.data).toEqual(melFilterbank({ nMels: 80 }).data);
  });

  it('dequantizes int8 weights with their per-row scales', async () => {
    const dir = path.join(tmp, 'int8');
    const src = writeTinyCt2Model(dir, { dtype: 'int8' });
    const out = path.join(tmp, 'int8.bin');
    await convertCt2ToGgml({ from: dir, to: out, ftype: 'f32' });
    const g = readGgml(out);
    for (const t of g.tensors.values()) expect(t.type).toBe(0);
    // With f32 output the dequantized values come through exactly.
    expect(g.tensors.get('encoder.blocks.0.mlp.0.weight')!.values).toEqual(src.get('encoder/layer_0/ffn/linear_0/weight')!.values);
    expect(g.tensors.get('encoder.conv1.weight')!.values).toEqual(src.get('encoder/conv1/weight')!.values);
    const fused = src.get('encoder/layer_0/self_attention/linear_0/weight')!.values;
    expect(g.tensors.get('encoder.blocks.0.attn.value.weight')!.values).toEqual(rows(fused, s, 2 * s, 3 * s));
    // And with f16 output they are the f16 rounding of those (relative error ≤ 2^-11).
    const out16 = path.join(tmp, 'int8-f16.bin');
    await convertCt2ToGgml({ from: dir, to: out16 });
    const g16 = readGgml(out16);
    expect(maxRelDiff(g16.tensors.get('decoder.token_embedding.weight')!.values, src.get('decoder/embeddings/weight')!.values)).toBeLessThanOrEqual(2 ** -11);
  });

  it('keeps float32 weights exact with ftype f32', async () => {
    const dir = path.join(tmp, 'f32');
    const src = writeTinyCt2Model(dir, { dtype: 'float32' });
    const out = path.join(tmp, 'f32.bin');
    await convertCt2ToGgml({ from: dir, to: out, ftype: 'f32' });
    const g = readGgml(out);
    expect(g.hparams.ftype).toBe(0);
    expect(g.tensors.get('decoder.token_embedding.weight')!.values).toEqual(src.get('decoder/embeddings/weight')!.values);
    expect(await readGgmlHeader(out)).toEqual(g.hparams);
  });

  it('fails with MODEL_CORRUPT on a broken source and leaves no output behind', async () => {
    const dir = path.join(tmp, 'broken');
    writeTinyCt2Model(dir);
    const modelBin = path.join(dir, 'model.bin');
    const full = readFileSync(modelBin);
    const out = path.join(tmp, 'broken-out', 'model.bin');

    truncateSync(modelBin, full.length - 100);
    await expect(convertCt2ToGgml({ from: dir, to: out })).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringContaining('truncated') });

    writeFileSync(modelBin, encodeCt2('TransformerSpec', new Map()));
    await expect(convertCt2ToGgml({ from: dir, to: out })).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringContaining('TransformerSpec') });

    writeFileSync(modelBin, encodeCt2('WhisperSpec', new Map(), {}, 2));
    await expect(convertCt2ToGgml({ from: dir, to: out })).rejects.toMatchObject({ code: 'MODEL_CORRUPT', message: expect.stringContaining('binary version 2') });

    // A model missing one weight fails mid-way: the partial output is removed.
    const partial = new Map([['encoder/position_encodings/encodings', { dtype: 'float32' as const, shape: [4, 8], values: new Float32Array(32) }]]);
    writeFileSync(modelBin, encodeCt2('WhisperSpec', partial));
    const err = await convertCt2ToGgml({ from: dir, to: out }).catch((e: unknown) => e);
    expect(hasErrorCode(err, 'MODEL_CORRUPT')).toBe(true);
    expect(existsSync(path.dirname(out)) ? readdirSync(path.dirname(out)) : []).toEqual([]);

    await expect(convertCt2ToGgml({ from: path.join(tmp, 'nope'), to: out })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });
});
