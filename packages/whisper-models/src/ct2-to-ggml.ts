import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EchoPanelError } from '@echopanel/plugin-api';
import { Ct2ModelFile, type TensorValues } from './ct2-model-file.js';
import { encodeGgmlHeader, type WhisperHparams } from './ggml-file.js';
import { tokenToBytes } from './gpt2-bytes.js';
import { float32ToHalf, halfToFloat32 } from './half-float.js';
import { melFilterbank } from './mel-filters.js';

/** Bumped whenever the converter's output changes; recorded in manifests of converted models. */
export const CONVERTER_VERSION = 1;

export interface ConvertProgress {
  readonly tensorsDone: number;
  readonly tensorsTotal: number;
  readonly bytesWritten: number;
  /** The ggml tensor just written. */
  readonly tensor: string;
}

export interface ConvertOptions {
  /** A faster-whisper / CTranslate2 Whisper model directory (model.bin + tokenizer.json or vocabulary.txt). */
  readonly from: string;
  /** The ggml file to write (atomically: a temp file renamed into place). */
  readonly to: string;
  /** Store weight matrices as f16 (default, like whisper.cpp's own models) or f32. */
  readonly ftype?: 'f16' | 'f32';
  readonly onProgress?: (p: ConvertProgress) => void;
}

export interface ConvertResult {
  readonly path: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly hparams: WhisperHparams;
  readonly tensors: number;
  readonly vocabTokens: number;
  /** CTranslate2 binary version and spec revision of the source. */
  readonly source: { readonly version: number; readonly spec: string; readonly revision: number };
}

/** One ggml tensor to write and where its data comes from. */
interface TensorPlan {
  readonly name: string;
  /** numpy-order shape of the output. */
  readonly shape: readonly number[];
  readonly f32: boolean;
  readonly load: () => Promise<TensorValues>;
}

/**
 * Converts a CTranslate2 Whisper model directory into a whisper.cpp ggml model file (the layout of whisper.cpp's
 * `convert-pt-to-ggml.py`): fused attention projections are split, layer-norm gamma/beta become weight/bias,
 * quantized weights are dequantized, the mel filterbank is computed and the vocabulary is written as raw bytes.
 * Throws MODEL_NOT_FOUND / MODEL_CORRUPT for an unusable source.
 */
export async function convertCt2ToGgml(options: ConvertOptions): Promise<ConvertResult> {
  if (os.endianness() !== 'LE') throw new EchoPanelError('UNSUPPORTED_PLATFORM', 'the ggml converter needs a little-endian host');
  const modelBin = path.join(options.from, 'model.bin');
  if (!existsSync(modelBin)) {
    throw new EchoPanelError('MODEL_NOT_FOUND', `no CTranslate2 model at ${options.from} (model.bin missing)`, {
      details: { path: options.from },
    });
  }
  const ct2 = await Ct2ModelFile.open(modelBin);
  try {
    if (ct2.spec !== 'WhisperSpec') {
      throw new EchoPanelError('MODEL_CORRUPT', `${modelBin} is a ${ct2.spec}, not a Whisper model`, { details: { path: modelBin } });
    }
    const hparams = await readHparams(ct2, options.ftype ?? 'f16');
    const tokens = await readVocabulary(options.from);
    const plan = planTensors(ct2, hparams);
    const mel = melFilterbank({ nMels: hparams.nMels });

    await mkdir(path.dirname(path.resolve(options.to)), { recursive: true });
    const tmp = `${options.to}.tmp-${process.pid}`;
    const out = new HashingWriter(await open(tmp, 'w'));
    try {
      await out.write(encodeGgmlHeader(hparams));
      await out.write(int32s(mel.nMels, mel.nBins));
      await out.write(Buffer.from(mel.data.buffer, mel.data.byteOffset, mel.data.byteLength));
      await out.write(int32s(tokens.length));
      for (const t of tokens) {
        await out.write(int32s(t.length));
        await out.write(t);
      }
      let done = 0;
      for (const t of plan) {
        const values = await t.load();
        const count = t.shape.reduce((a, b) => a * b, 1);
        if (values.values.length !== count) {
          throw new EchoPanelError('MODEL_CORRUPT', `${modelBin}: ${t.name} has ${values.values.length} values, expected ${count}`);
        }
        const name = Buffer.from(t.name, 'utf8');
        const header = int32s(t.shape.length, name.length, t.f32 ? 0 : 1, ...[...t.shape].reverse());
        await out.write(header);
        await out.write(name);
        await out.write(encode(values, t.f32));
        done++;
        options.onProgress?.({ tensorsDone: done, tensorsTotal: plan.length, bytesWritten: out.bytes, tensor: t.name });
      }
      await out.close();
      await rename(tmp, options.to);
    } catch (err) {
      await out.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
    return {
      path: options.to,
      sizeBytes: out.bytes,
      sha256: out.digest(),
      hparams,
      tensors: plan.length,
      vocabTokens: tokens.length,
      source: { version: ct2.version, spec: ct2.spec, revision: ct2.revision },
    };
  } finally {
    await ct2.close();
  }
}

async function readHparams(ct2: Ct2ModelFile, ftype: 'f16' | 'f32'): Promise<WhisperHparams> {
  const emb = ct2.require('decoder/embeddings/weight').shape;
  const encPos = ct2.require('encoder/position_encodings/encodings').shape;
  const decPos = ct2.require('decoder/position_encodings/encodings').shape;
  const conv1 = ct2.require('encoder/conv1/weight').shape;
  return {
    nVocab: emb[0],
    nAudioCtx: encPos[0],
    nAudioState: encPos[1],
    nAudioHead: await ct2.scalar('encoder/num_heads'),
    nAudioLayer: countLayers(ct2, 'encoder'),
    nTextCtx: decPos[0],
    nTextState: emb[1],
    nTextHead: await ct2.scalar('decoder/num_heads'),
    nTextLayer: countLayers(ct2, 'decoder'),
    nMels: conv1[1],
    ftype: ftype === 'f16' ? 1 : 0,
  };
}

function countLayers(ct2: Ct2ModelFile, side: 'encoder' | 'decoder'): number {
  let n = 0;
  while (ct2.variable(`${side}/layer_${n}/ffn/linear_0/weight`)) n++;
  if (n === 0) throw new EchoPanelError('MODEL_CORRUPT', `${ct2.path}: no ${side} layers`);
  return n;
}

/**
 * The byte strings of the regular BPE tokens, ids 0..n-1. Special tokens (<|endoftext|> onwards) are left out:
 * whisper.cpp names them itself from n_vocab, exactly as for models converted from OpenAI's tiktoken files.
 */
async function readVocabulary(dir: string): Promise<Buffer[]> {
  const tokenizerJson = path.join(dir, 'tokenizer.json');
  if (existsSync(tokenizerJson)) {
    const tok = JSON.parse(await readFile(tokenizerJson, 'utf8')) as {
      model?: { vocab?: Record<string, number> };
      added_tokens?: { id: number; content: string }[];
    };
    const vocab = tok.model?.vocab;
    if (!vocab) throw new EchoPanelError('MODEL_CORRUPT', `${tokenizerJson} has no model.vocab`);
    const special = new Set((tok.added_tokens ?? []).map((t) => t.id));
    const byId: string[] = [];
    for (const [text, id] of Object.entries(vocab)) if (!special.has(id)) byId[id] = text;
    const n = byId.length;
    for (let i = 0; i < n; i++) {
      if (byId[i] === undefined) throw new EchoPanelError('MODEL_CORRUPT', `${tokenizerJson}: token id ${i} is missing`);
    }
    return byId.map(tokenToBytes);
  }
  const vocabTxt = path.join(dir, 'vocabulary.txt');
  if (existsSync(vocabTxt)) {
    const lines = (await readFile(vocabTxt, 'utf8')).split('\n');
    const end = lines.indexOf('<|endoftext|>');
    if (end <= 0) throw new EchoPanelError('MODEL_CORRUPT', `${vocabTxt} has no <|endoftext|> token`);
    return lines.slice(0, end).map(tokenToBytes);
  }
  throw new EchoPanelError('MODEL_CORRUPT', `${dir} has neither tokenizer.json nor vocabulary.txt`, { details: { path: dir } });
}

function planTensors(ct2: Ct2ModelFile, h: WhisperHparams): TensorPlan[] {
  const plan: TensorPlan[] = [];
  const whole = (name: string, src: string, opts: { f32?: boolean; shape?: readonly number[] } = {}): void => {
    const v = ct2.require(src);
    plan.push({ name, shape: opts.shape ?? v.shape, f32: opts.f32 ?? v.shape.length < 2, load: () => ct2.floats(src) });
  };
  /** Part `index` of `parts` equal row blocks of a fused projection (weight rows or bias entries). */
  const part = (name: string, src: string, index: number, parts: number): void => {
    const v = ct2.require(src);
    const rows = v.shape[0] / parts;
    const shape = [rows, ...v.shape.slice(1)];
    const per = shape.reduce((a, b) => a * b, 1);
    plan.push({
      name,
      shape,
      f32: shape.length < 2,
      load: async () => {
        const all = await ct2.floats(src);
        return all.kind === 'f16'
          ? { kind: 'f16', values: all.values.subarray(index * per, (index + 1) * per) }
          : { kind: 'f32', values: all.values.subarray(index * per, (index + 1) * per) };
      },
    });
  };
  const norm = (name: string, src: string): void => {
    whole(`${name}.weight`, `${src}/gamma`);
    whole(`${name}.bias`, `${src}/beta`);
  };
  const linear = (name: string, src: string): void => {
    whole(`${name}.weight`, `${src}/weight`);
    whole(`${name}.bias`, `${src}/bias`);
  };
  // Q, K, V fused along the output rows. ggml has no K bias: adding b_k shifts every score of one query by the
  // same q·b_k, which softmax ignores, so dropping it is exact.
  const qkv = (name: string, src: string): void => {
    part(`${name}.query.weight`, `${src}/weight`, 0, 3);
    part(`${name}.query.bias`, `${src}/bias`, 0, 3);
    part(`${name}.key.weight`, `${src}/weight`, 1, 3);
    part(`${name}.value.weight`, `${src}/weight`, 2, 3);
    part(`${name}.value.bias`, `${src}/bias`, 2, 3);
  };
  const kv = (name: string, src: string): void => {
    part(`${name}.key.weight`, `${src}/weight`, 0, 2);
    part(`${name}.value.weight`, `${src}/weight`, 1, 2);
    part(`${name}.value.bias`, `${src}/bias`, 1, 2);
  };

  whole('encoder.positional_embedding', 'encoder/position_encodings/encodings', { f32: true });
  for (const c of ['conv1', 'conv2']) {
    whole(`encoder.${c}.weight`, `encoder/${c}/weight`);
    // whisper.cpp wants conv biases as [n, 1] f32.
    whole(`encoder.${c}.bias`, `encoder/${c}/bias`, { f32: true, shape: [h.nAudioState, 1] });
  }
  for (let i = 0; i < h.nAudioLayer; i++) {
    const src = `encoder/layer_${i}`;
    const dst = `encoder.blocks.${i}`;
    norm(`${dst}.attn_ln`, `${src}/self_attention/layer_norm`);
    qkv(`${dst}.attn`, `${src}/self_attention/linear_0`);
    linear(`${dst}.attn.out`, `${src}/self_attention/linear_1`);
    norm(`${dst}.mlp_ln`, `${src}/ffn/layer_norm`);
    linear(`${dst}.mlp.0`, `${src}/ffn/linear_0`);
    linear(`${dst}.mlp.2`, `${src}/ffn/linear_1`);
  }
  norm('encoder.ln_post', 'encoder/layer_norm');

  whole('decoder.positional_embedding', 'decoder/position_encodings/encodings', { f32: true });
  whole('decoder.token_embedding.weight', 'decoder/embeddings/weight');
  for (let i = 0; i < h.nTextLayer; i++) {
    const src = `decoder/layer_${i}`;
    const dst = `decoder.blocks.${i}`;
    norm(`${dst}.attn_ln`, `${src}/self_attention/layer_norm`);
    qkv(`${dst}.attn`, `${src}/self_attention/linear_0`);
    linear(`${dst}.attn.out`, `${src}/self_attention/linear_1`);
    norm(`${dst}.cross_attn_ln`, `${src}/attention/layer_norm`);
    linear(`${dst}.cross_attn.query`, `${src}/attention/linear_0`);
    kv(`${dst}.cross_attn`, `${src}/attention/linear_1`);
    linear(`${dst}.cross_attn.out`, `${src}/attention/linear_2`);
    norm(`${dst}.mlp_ln`, `${src}/ffn/layer_norm`);
    linear(`${dst}.mlp.0`, `${src}/ffn/linear_0`);
    linear(`${dst}.mlp.2`, `${src}/ffn/linear_1`);
  }
  norm('decoder.ln', 'decoder/layer_norm');
  if (h.ftype === 0) return plan.map((t) => ({ ...t, f32: true }));
  return plan;
}

function encode(t: TensorValues, f32: boolean): Buffer {
  let arr: Float32Array | Uint16Array;
  if (f32) arr = t.kind === 'f32' ? t.values : halfToFloat32(t.values);
  else arr = t.kind === 'f16' ? t.values : float32ToHalf(t.values);
  return Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
}

function int32s(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeInt32LE(v, 4 * i));
  return b;
}

/** Sequential file writes that also count bytes and hash them (the manifest needs both). */
class HashingWriter {
  bytes = 0;
  private readonly hash = createHash('sha256');
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private closed = false;

  constructor(private readonly fh: import('node:fs/promises').FileHandle) {}

  async write(b: Buffer): Promise<void> {
    this.hash.update(b);
    this.bytes += b.length;
    // Small header pieces are batched; tensors go out directly.
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.fh.write(data, 0, data.length);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flush();
      await this.fh.sync();
    } finally {
      await this.fh.close();
    }
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
