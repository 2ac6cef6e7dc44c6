// Test fixture: parses a whisper.cpp ggml model file completely (the layout whisper_model_load reads).
import { readFileSync } from 'node:fs';
import { halfToFloat32 } from '../half-float.js';
import { HPARAM_KEYS, type WhisperHparams } from '../ggml-file.js';

export interface GgmlTensor {
  readonly name: string;
  /** ggml order (innermost first). */
  readonly ne: number[];
  readonly type: number;
  readonly values: Float32Array;
}

export interface GgmlModel {
  readonly magic: number;
  readonly hparams: WhisperHparams;
  readonly mel: { nMel: number; nFft: number; data: Float32Array };
  readonly vocab: Buffer[];
  readonly tensors: Map<string, GgmlTensor>;
  readonly order: string[];
}

export function readGgml(file: string): GgmlModel {
  const b = readFileSync(file);
  let o = 0;
  const i32 = (): number => {
    const v = b.readInt32LE(o);
    o += 4;
    return v;
  };
  const magic = b.readUInt32LE(0);
  o = 4;
  const hparams = Object.fromEntries(HPARAM_KEYS.map((k) => [k, i32()])) as unknown as WhisperHparams;
  const nMel = i32();
  const nFft = i32();
  const mel = new Float32Array(b.buffer.slice(b.byteOffset + o, b.byteOffset + o + nMel * nFft * 4));
  o += nMel * nFft * 4;
  const nVocab = i32();
  const vocab: Buffer[] = [];
  for (let i = 0; i < nVocab; i++) {
    const len = i32();
    vocab.push(Buffer.from(b.subarray(o, o + len)));
    o += len;
  }
  const tensors = new Map<string, GgmlTensor>();
  const order: string[] = [];
  while (o < b.length) {
    const nDims = i32();
    const nameLen = i32();
    const type = i32();
    const ne: number[] = [];
    for (let i = 0; i < nDims; i++) ne.push(i32());
    const name = b.subarray(o, o + nameLen).toString('utf8');
    o += nameLen;
    const n = ne.reduce((a, c) => a * c, 1);
    const bytes = n * (type === 0 ? 4 : 2);
    const raw = b.buffer.slice(b.byteOffset + o, b.byteOffset + o + bytes);
    o += bytes;
    const values = type === 0 ? new Float32Array(raw) : halfToFloat32(new Uint16Array(raw));
    tensors.set(name, { name, ne, type, values });
    order.push(name);
  }
  return { magic, hparams, mel: { nMel, nFft, data: mel }, vocab, tensors, order };
}
