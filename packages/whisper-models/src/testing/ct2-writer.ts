// Test fixture: writes CTranslate2 model.bin files with the exact layout ctranslate2's ModelSpec._serialize uses
// (binary version 6), so converter tests can use small models with known weights and any dtype.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { float32ToHalf } from '../half-float.js';

export type FixtureVar =
  | { readonly dtype: 'float32' | 'float16'; readonly shape: readonly number[]; readonly values: Float32Array }
  | { readonly dtype: 'int8'; readonly shape: readonly number[]; readonly values: Int8Array }
  | { readonly dtype: 'int16'; readonly shape: readonly number[]; readonly values: Int16Array };

const DTYPE_ID = { float32: 0, int8: 1, int16: 2, int32: 3, float16: 4, bfloat16: 5 } as const;

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(2 + b.length + 1);
  out.writeUInt16LE(b.length + 1, 0);
  b.copy(out, 2);
  return out;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v, 0);
  return b;
}

/** Serializes variables (+ scalar int16 / int8 entries) and aliases like CTranslate2. */
export function encodeCt2(spec: string, vars: ReadonlyMap<string, FixtureVar | { scalar: 'int8' | 'int16'; value: number }>, aliases: Record<string, string> = {}, version = 6): Buffer {
  const parts: Buffer[] = [u32(version), str(spec), u32(3), u32(vars.size)];
  for (const [name, v] of vars) {
    parts.push(str(name));
    if ('scalar' in v) {
      parts.push(Buffer.from([0]), Buffer.from([DTYPE_ID[v.scalar]]));
      const data = Buffer.alloc(v.scalar === 'int8' ? 1 : 2);
      if (v.scalar === 'int8') data.writeInt8(v.value, 0);
      else data.writeInt16LE(v.value, 0);
      parts.push(u32(data.length), data);
      continue;
    }
    parts.push(Buffer.from([v.shape.length]));
    for (const d of v.shape) parts.push(u32(d));
    parts.push(Buffer.from([DTYPE_ID[v.dtype]]));
    let data: Buffer;
    if (v.dtype === 'float16') {
      const h = float32ToHalf(v.values);
      data = Buffer.from(h.buffer, h.byteOffset, h.byteLength);
    } else {
      data = Buffer.from(v.values.buffer, v.values.byteOffset, v.values.byteLength);
    }
    parts.push(u32(data.length), data);
  }
  parts.push(u32(Object.keys(aliases).length));
  for (const [a, b] of Object.entries(aliases)) parts.push(str(a), str(b));
  return Buffer.concat(parts);
}

/** Deterministic pseudo-random floats in [-1, 1). */
export function randomFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

export interface TinyWhisperDims {
  readonly state: number;
  readonly heads: number;
  readonly encLayers: number;
  readonly decLayers: number;
  readonly audioCtx: number;
  readonly textCtx: number;
  readonly mels: number;
  /** Regular BPE tokens (the special tokens come on top, n_vocab = tokens + specials). */
  readonly tokens: number;
  readonly specials: number;
}

export const TINY_DIMS: TinyWhisperDims = { state: 8, heads: 2, encLayers: 2, decLayers: 1, audioCtx: 12, textCtx: 6, mels: 80, tokens: 282, specials: 5 };

/**
 * Builds a small but complete Whisper CTranslate2 model directory with random weights (weight dtype float16,
 * float32 or int8 with per-row scales like ctranslate2's quantizer) and a byte-level tokenizer.json.
 * Returns the float weights each variable was made from.
 */
export function writeTinyCt2Model(dir: string, options: { dtype?: 'float16' | 'float32' | 'int8'; dims?: TinyWhisperDims } = {}): Map<string, { shape: number[]; values: Float32Array }> {
  const d = options.dims ?? TINY_DIMS;
  const dtype = options.dtype ?? 'float16';
  const nVocab = d.tokens + d.specials;
  const vars = new Map<string, FixtureVar | { scalar: 'int8' | 'int16'; value: number }>();
  const source = new Map<string, { shape: number[]; values: Float32Array }>();
  let seed = 1;
  const add = (name: string, shape: number[], quantizable = false): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = randomFloats(n, seed++);
    if (dtype === 'int8' && quantizable) {
      // ctranslate2: scale = 127 / amax per output row, q = rint(w * scale).
      const rows = shape[0];
      const per = n / rows;
      const q = new Int8Array(n);
      const scales = new Float32Array(rows);
      const deq = new Float32Array(n);
      for (let r = 0; r < rows; r++) {
        let amax = 0;
        for (let i = 0; i < per; i++) amax = Math.max(amax, Math.abs(values[r * per + i]));
        const scale = Math.fround(127 / amax);
        scales[r] = scale;
        for (let i = 0; i < per; i++) {
          q[r * per + i] = Math.round(Math.fround(values[r * per + i] * scale));
          deq[r * per + i] = q[r * per + i] / scale;
        }
      }
      vars.set(name, { dtype: 'int8', shape, values: q });
      vars.set(`${name}_scale`, { dtype: 'float32', shape: [rows], values: scales });
      source.set(name, { shape, values: deq });
      return;
    }
    const stored = dtype === 'float16' ? 'float16' : 'float32';
    vars.set(name, { dtype: stored, shape, values });
    // What the file holds after rounding to the stored dtype.
    source.set(name, { shape, values: stored === 'float16' ? Float32Array.from(values, (x) => Math.fround(halfRound(x))) : values });
  };
  const linear = (p: string, out: number, inp: number): void => {
    add(`${p}/weight`, [out, inp], true);
    add(`${p}/bias`, [out]);
  };
  const norm = (p: string): void => {
    add(`${p}/gamma`, [d.state]);
    add(`${p}/beta`, [d.state]);
  };
  vars.set('decoder/activation', { scalar: 'int8', value: 3 });
  add('decoder/embeddings/weight', [nVocab, d.state], true);
  for (let i = 0; i < d.decLayers; i++) {
    const p = `decoder/layer_${i}`;
    norm(`${p}/attention/layer_norm`);
    linear(`${p}/attention/linear_0`, d.state, d.state);
    linear(`${p}/attention/linear_1`, 2 * d.state, d.state);
    linear(`${p}/attention/linear_2`, d.state, d.state);
    norm(`${p}/ffn/layer_norm`);
    linear(`${p}/ffn/linear_0`, 4 * d.state, d.state);
    linear(`${p}/ffn/linear_1`, d.state, 4 * d.state);
    norm(`${p}/self_attention/layer_norm`);
    linear(`${p}/self_attention/linear_0`, 3 * d.state, d.state);
    linear(`${p}/self_attention/linear_1`, d.state, d.state);
  }
  norm('decoder/layer_norm');
  vars.set('decoder/num_heads', { scalar: 'int16', value: d.heads });
  add('decoder/position_encodings/encodings', [d.textCtx, d.state]);
  add('encoder/conv1/bias', [d.state]);
  add('encoder/conv1/weight', [d.state, d.mels, 3], true);
  add('encoder/conv2/bias', [d.state]);
  add('encoder/conv2/weight', [d.state, d.state, 3], true);
  for (let i = 0; i < d.encLayers; i++) {
    const p = `encoder/layer_${i}`;
    norm(`${p}/ffn/layer_norm`);
    linear(`${p}/ffn/linear_0`, 4 * d.state, d.state);
    linear(`${p}/ffn/linear_1`, d.state, 4 * d.state);
    norm(`${p}/self_attention/layer_norm`);
    linear(`${p}/self_attention/linear_0`, 3 * d.state, d.state);
    linear(`${p}/self_attention/linear_1`, d.state, d.state);
  }
  norm('encoder/layer_norm');
  vars.set('encoder/num_heads', { scalar: 'int16', value: d.heads });
  add('encoder/position_encodings/encodings', [d.audioCtx, d.state]);

  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.bin'), encodeCt2('WhisperSpec', vars, { 'decoder/projection/weight': 'decoder/embeddings/weight' }));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ suppress_ids: [], suppress_ids_begin: [] }));
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizer(d.tokens, d.specials)));
  return source;
}

function halfRound(x: number): number {
  const h = float32ToHalf(Float32Array.of(x));
  // decode via the same path the converter's reader uses
  const sign = h[0] & 0x8000 ? -1 : 1;
  const exp = (h[0] >>> 10) & 0x1f;
  const mant = h[0] & 0x3ff;
  return exp === 0 ? sign * mant * 2 ** -24 : sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** GPT-2 style printable form of byte `b` (same table as gpt2-bytes.ts, written out independently). */
export function printableByte(b: number): string {
  const direct = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  if (direct) return String.fromCodePoint(b);
  let n = 0;
  for (let x = 0; x < b; x++) if (!((x >= 0x21 && x <= 0x7e) || (x >= 0xa1 && x <= 0xac) || (x >= 0xae && x <= 0xff))) n++;
  return String.fromCodePoint(256 + n);
}

/** Tokens 0..255 are the single bytes, 256..281 are " a".." z"; specials follow. */
export function tinyTokenBytes(i: number): Buffer {
  return i < 256 ? Buffer.from([i]) : Buffer.from([0x20, 0x61 + i - 256]);
}

function tinyTokenizer(tokens: number, specials: number): unknown {
  const vocab: Record<string, number> = {};
  for (let i = 0; i < tokens; i++) vocab[[...tinyTokenBytes(i)].map(printableByte).join('')] = i;
  const added = Array.from({ length: specials }, (_, k) => ({ id: tokens + k, content: k === 0 ? '<|endoftext|>' : `<|special${k}|>`, special: true }));
  vocab['<|endoftext|>'] = tokens;
  return { model: { type: 'BPE', vocab }, added_tokens: added };
}
