import { open, type FileHandle } from 'node:fs/promises';
import { EchoPanelError } from '@echopanel/plugin-api';
import { bfloat16ToFloat32, halfToFloat32 } from './half-float.js';

/** CTranslate2 variable dtypes, in the order of its DataType enum. */
export const CT2_DTYPES = ['float32', 'int8', 'int16', 'int32', 'float16', 'bfloat16'] as const;
export type Ct2Dtype = (typeof CT2_DTYPES)[number];

const DTYPE_BYTES: Record<Ct2Dtype, number> = { float32: 4, int8: 1, int16: 2, int32: 4, float16: 2, bfloat16: 2 };

/** Binary versions whose layout this reader knows (6 is what ctranslate2 3.x/4.x writes). */
const SUPPORTED_VERSIONS = new Set([5, 6]);

export interface Ct2Variable {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: Ct2Dtype;
  readonly byteLength: number;
  /** Where the data starts in model.bin. */
  readonly offset: number;
}

/** Floating-point tensor data as read: halves stay halves so f16 → f16 copies are exact and cheap. */
export type TensorValues = { readonly kind: 'f16'; readonly values: Uint16Array } | { readonly kind: 'f32'; readonly values: Float32Array };

/**
 * An open CTranslate2 `model.bin`: the variable index is read up front, data on demand (a large model never has
 * to fit in one buffer).
 */
export class Ct2ModelFile {
  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    readonly version: number,
    readonly spec: string,
    readonly revision: number,
    readonly variables: ReadonlyMap<string, Ct2Variable>,
    readonly aliases: ReadonlyMap<string, string>,
  ) {}

  /** Opens and indexes `model.bin`; throws MODEL_CORRUPT when the layout does not parse. */
  static async open(path: string): Promise<Ct2ModelFile> {
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const reader = new IndexReader(fh, path, size);
      const version = await reader.u32();
      if (!SUPPORTED_VERSIONS.has(version)) {
        throw corrupt(path, `unsupported CTranslate2 binary version ${version} (supported: ${[...SUPPORTED_VERSIONS].join(', ')})`);
      }
      const spec = await reader.string();
      const revision = await reader.u32();
      const count = await reader.u32();
      const variables = new Map<string, Ct2Variable>();
      for (let i = 0; i < count; i++) {
        const name = await reader.string();
        const rank = await reader.u8();
        const shape: number[] = [];
        for (let r = 0; r < rank; r++) shape.push(await reader.u32());
        const dtypeId = await reader.u8();
        const dtype = CT2_DTYPES[dtypeId];
        if (!dtype) throw corrupt(path, `variable ${name} has unknown dtype id ${dtypeId}`);
        const byteLength = await reader.u32();
        const elements = shape.reduce((a, b) => a * b, 1);
        if (byteLength !== elements * DTYPE_BYTES[dtype]) {
          throw corrupt(path, `variable ${name} holds ${byteLength} bytes, expected ${elements * DTYPE_BYTES[dtype]}`);
        }
        const offset = reader.position;
        reader.skip(byteLength);
        variables.set(name, { name, shape, dtype, byteLength, offset });
      }
      const aliases = new Map<string, string>();
      const aliasCount = await reader.u32();
      for (let i = 0; i < aliasCount; i++) aliases.set(await reader.string(), await reader.string());
      return new Ct2ModelFile(fh, path, version, spec, revision, variables, aliases);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  /** The variable behind a name or alias, or undefined. */
  variable(name: string): Ct2Variable | undefined {
    return this.variables.get(name) ?? this.variables.get(this.aliases.get(name) ?? '');
  }

  /** A variable that must exist (MODEL_CORRUPT otherwise). */
  require(name: string): Ct2Variable {
    const v = this.variable(name);
    if (!v) throw corrupt(this.path, `variable ${name} is missing`);
    return v;
  }

  async raw(v: Ct2Variable): Promise<Uint8Array> {
    // A fresh ArrayBuffer keeps typed-array views aligned.
    const bytes = new Uint8Array(v.byteLength);
    const { bytesRead } = await this.fh.read(bytes, 0, v.byteLength, v.offset);
    if (bytesRead !== v.byteLength) throw corrupt(this.path, `variable ${v.name} is truncated`);
    return bytes;
  }

  /** A scalar integer or boolean variable (e.g. `encoder/num_heads`). */
  async scalar(name: string): Promise<number> {
    const v = this.require(name);
    const b = await this.raw(v);
    const view = new DataView(b.buffer);
    switch (v.dtype) {
      case 'int8':
        return view.getInt8(0);
      case 'int16':
        return view.getInt16(0, true);
      case 'int32':
        return view.getInt32(0, true);
      case 'float32':
        return view.getFloat32(0, true);
      default:
        return halfToFloat32(new Uint16Array(b.buffer, 0, 1))[0];
    }
  }

  /**
   * A weight as floating point. Quantized weights (int8 with a per-row `<name>_scale`, int16 with one global
   * scale) are dequantized: CTranslate2 stores round(w × scale).
   */
  async floats(name: string): Promise<TensorValues> {
    const v = this.require(name);
    const b = await this.raw(v);
    switch (v.dtype) {
      case 'float16':
        return { kind: 'f16', values: new Uint16Array(b.buffer) };
      case 'float32':
        return { kind: 'f32', values: new Float32Array(b.buffer) };
      case 'bfloat16':
        return { kind: 'f32', values: bfloat16ToFloat32(new Uint16Array(b.buffer)) };
      case 'int8':
      case 'int16': {
        const q = v.dtype === 'int8' ? new Int8Array(b.buffer) : new Int16Array(b.buffer);
        const scaleVar = this.variable(`${name}_scale`);
        if (!scaleVar) throw corrupt(this.path, `quantized variable ${name} has no ${name}_scale`);
        const s = await this.floats(`${name}_scale`);
        const scales = s.kind === 'f16' ? halfToFloat32(s.values) : s.values;
        const rowSize = q.length / scales.length;
        if (!Number.isInteger(rowSize)) throw corrupt(this.path, `${name}_scale does not divide ${name} into rows`);
        const out = new Float32Array(q.length);
        for (let r = 0; r < scales.length; r++) {
          const inv = 1 / scales[r];
          for (let i = r * rowSize, end = i + rowSize; i < end; i++) out[i] = q[i] * inv;
        }
        return { kind: 'f32', values: out };
      }
      default:
        throw corrupt(this.path, `variable ${name} has non-float dtype ${v.dtype}`);
    }
  }
}

function corrupt(path: string, what: string): EchoPanelError {
  return new EchoPanelError('MODEL_CORRUPT', `CTranslate2 model ${path}: ${what}. Re-install or re-download the model.`, {
    details: { path },
  });
}

/** Sequential reads of the small header fields, buffered to avoid one syscall per field. */
class IndexReader {
  position = 0;
  private buf = Buffer.alloc(0);
  private bufStart = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    private readonly size: number,
  ) {}

  private async ensure(n: number): Promise<Buffer> {
    if (this.position + n > this.size) throw corrupt(this.path, `file ends at byte ${this.size} (truncated)`);
    const rel = this.position - this.bufStart;
    if (rel < 0 || rel + n > this.buf.length) {
      const len = Math.min(Math.max(n, 64 * 1024), this.size - this.position);
      this.buf = Buffer.alloc(len);
      await this.fh.read(this.buf, 0, len, this.position);
      this.bufStart = this.position;
    }
    const start = this.position - this.bufStart;
    this.position += n;
    return this.buf.subarray(start, start + n);
  }

  async u8(): Promise<number> {
    return (await this.ensure(1))[0];
  }

  async u32(): Promise<number> {
    return (await this.ensure(4)).readUInt32LE(0);
  }

  async string(): Promise<string> {
    const len = (await this.ensure(2)).readUInt16LE(0);
    if (len === 0) throw corrupt(this.path, `zero-length string at byte ${this.position - 2}`);
    const bytes = await this.ensure(len);
    return bytes.subarray(0, len - 1).toString('utf8');
  }

  skip(n: number): void {
    if (this.position + n > this.size) throw corrupt(this.path, `file ends at byte ${this.size} (truncated)`);
    this.position += n;
  }
}
