import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { EchoPanelError } from '@echopanel/plugin-api';
import { GGML_MAGIC, type WhisperHparams } from '@echopanel/whisper-models';

/** What {@link inspectGgmlFile} found in a well-formed whisper ggml file. */
export interface GgmlModelInfo {
  readonly path: string;
  readonly sizeBytes: number;
  readonly hparams: WhisperHparams;
  /** `tiny`, `base`, `small`, `medium`, `large` (from the layer count), else `unknown`. */
  readonly modelType: string;
  /** Weight type name (`f16`, `q5_1`, ...). */
  readonly weightType: string;
  readonly tensors: number;
  /** English-only vocabulary (the `.en` models have 51864 tokens). */
  readonly englishOnly: boolean;
}

// ggml_type → [bytes per block, elements per block] for the types whisper.cpp's loader of this vintage accepts.
const TYPE_SIZES: Record<number, readonly [number, number, string]> = {
  0: [4, 1, 'f32'],
  1: [2, 1, 'f16'],
  2: [18, 32, 'q4_0'],
  3: [20, 32, 'q4_1'],
  6: [22, 32, 'q5_0'],
  7: [24, 32, 'q5_1'],
  8: [34, 32, 'q8_0'],
  10: [84, 256, 'q2_k'],
  11: [110, 256, 'q3_k'],
  12: [144, 256, 'q4_k'],
  13: [176, 256, 'q5_k'],
  14: [210, 256, 'q6_k'],
};
// whisper ftype → ggml_type of the big matrices (ggml_ftype_to_ggml_type).
const FTYPE_TO_TYPE: Record<number, number> = { 0: 0, 1: 1, 2: 2, 3: 3, 7: 8, 8: 6, 9: 7, 10: 10, 11: 11, 12: 12, 13: 13, 14: 14 };
const QNT_VERSION_FACTOR = 1000;
const MODEL_TYPES: Record<number, string> = { 4: 'tiny', 6: 'base', 12: 'small', 24: 'medium', 32: 'large' };

/**
 * Reads and checks the whole structure of a whisper ggml file (header, mel filters, vocabulary, every tensor's
 * header and that its data is present) without loading the weights. whisper.cpp's loader trusts these fields:
 * a truncated or foreign file can make it allocate absurd sizes, assert, or read garbage inside the Node
 * process, so the file is checked here first.
 * @throws EchoPanelError MODEL_NOT_FOUND (no such file), MODEL_CORRUPT (truncated / not a whisper ggml file).
 */
export function inspectGgmlFile(file: string): GgmlModelInfo {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new EchoPanelError(code === 'ENOENT' ? 'MODEL_NOT_FOUND' : 'MODEL_CORRUPT', `cannot open ggml model ${file}: ${(err as Error).message}`, {
      cause: err,
      details: { path: file },
    });
  }
  try {
    const size = fstatSync(fd).size;
    const r = new FileReader(fd, size, file);
    const magic = r.u32('magic');
    if (magic !== GGML_MAGIC) {
      throw corrupt(file, `is not a whisper.cpp ggml model (magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x67676d6c "ggml")`, 'not-ggml');
    }
    const h = readHparams(r, file);
    const nMel = r.i32('mel filter rows');
    const nFft = r.i32('mel filter columns');
    if (nMel !== h.nMels || nFft < 1 || nFft > 4096) throw corrupt(file, `has a malformed mel filter bank (${nMel}×${nFft})`, 'malformed');
    r.skip(nMel * nFft * 4, 'mel filters');
    const nVocab = r.i32('vocabulary size');
    if (nVocab < 1 || nVocab > 1_000_000) throw corrupt(file, `has an impossible vocabulary size ${nVocab}`, 'malformed');
    for (let i = 0; i < nVocab; i++) {
      const len = r.u32('vocabulary entry');
      if (len > 1024) throw corrupt(file, `has a malformed vocabulary (entry ${i} is ${len} bytes)`, 'malformed');
      r.skip(len, 'vocabulary');
    }
    const expected = expectedTensorNames(h);
    const seen = new Set<string>();
    while (r.remaining() > 0) {
      if (r.remaining() < 12) throw corrupt(file, 'is truncated inside a tensor header', 'truncated');
      const nDims = r.i32('tensor dims');
      const nameLen = r.i32('tensor name length');
      const ttype = r.i32('tensor type');
      if (nDims < 1 || nDims > 4 || nameLen < 1 || nameLen > 256) throw corrupt(file, `has a malformed tensor header at byte ${r.pos - 12}`, 'malformed');
      const type = TYPE_SIZES[ttype];
      if (!type) throw corrupt(file, `has a tensor of unsupported ggml type ${ttype}`, 'malformed');
      let elements = 1;
      for (let d = 0; d < nDims; d++) {
        const ne = r.i32('tensor shape');
        if (ne < 1) throw corrupt(file, `has a tensor with dimension ${ne}`, 'malformed');
        elements *= ne;
      }
      const name = r.str(nameLen, 'tensor name');
      if (!expected.has(name)) throw corrupt(file, `has tensor "${name}", which a whisper model of this size does not have`, 'malformed');
      if (seen.has(name)) throw corrupt(file, `has tensor "${name}" twice`, 'malformed');
      seen.add(name);
      if (elements % type[1] !== 0) throw corrupt(file, `has tensor "${name}" whose size is not a whole number of ${type[2]} blocks`, 'malformed');
      r.skip((elements / type[1]) * type[0], `data of tensor "${name}"`);
    }
    if (seen.size !== expected.size) {
      const missing = [...expected].find((n) => !seen.has(n));
      throw corrupt(file, `is truncated or incomplete: ${seen.size} of ${expected.size} tensors present (first missing: ${missing})`, 'truncated');
    }
    const wtype = FTYPE_TO_TYPE[h.ftype];
    return {
      path: file,
      sizeBytes: size,
      hparams: h,
      modelType: MODEL_TYPES[h.nAudioLayer] ?? 'unknown',
      weightType: TYPE_SIZES[wtype]?.[2] ?? `ftype ${h.ftype}`,
      tensors: seen.size,
      englishOnly: h.nVocab === 51864,
    };
  } finally {
    closeSync(fd);
  }
}

function readHparams(r: FileReader, file: string): WhisperHparams {
  const v = Array.from({ length: 11 }, () => r.i32('header'));
  const [nVocab, nAudioCtx, nAudioState, nAudioHead, nAudioLayer, nTextCtx, nTextState, nTextHead, nTextLayer, nMels, rawFtype] = v;
  const positive = [nVocab, nAudioCtx, nAudioState, nAudioHead, nAudioLayer, nTextCtx, nTextState, nTextHead, nTextLayer, nMels];
  if (positive.some((x) => x < 1 || x > 1_000_000) || rawFtype < 0) {
    throw corrupt(file, `has an impossible header (${v.join(', ')})`, 'malformed');
  }
  // whisper.cpp asserts on this (an abort of the whole process in builds with assertions).
  if (nTextState !== nAudioState) throw corrupt(file, `has mismatched encoder/decoder widths (${nAudioState} vs ${nTextState})`, 'malformed');
  if (nAudioState % nAudioHead !== 0 || nTextState % nTextHead !== 0) throw corrupt(file, 'has a head count that does not divide the width', 'malformed');
  const ftype = rawFtype % QNT_VERSION_FACTOR;
  if (FTYPE_TO_TYPE[ftype] === undefined) throw corrupt(file, `has an unsupported weight type (ftype ${ftype})`, 'malformed');
  return { nVocab, nAudioCtx, nAudioState, nAudioHead, nAudioLayer, nTextCtx, nTextState, nTextHead, nTextLayer, nMels, ftype };
}

/** The tensor names whisper.cpp's loader requires, all of them and nothing else. */
function expectedTensorNames(h: WhisperHparams): Set<string> {
  const names = new Set<string>([
    'encoder.positional_embedding',
    'encoder.conv1.weight',
    'encoder.conv1.bias',
    'encoder.conv2.weight',
    'encoder.conv2.bias',
    'encoder.ln_post.weight',
    'encoder.ln_post.bias',
    'decoder.positional_embedding',
    'decoder.token_embedding.weight',
    'decoder.ln.weight',
    'decoder.ln.bias',
  ]);
  const attention = (prefix: string) => [
    `${prefix}.query.weight`,
    `${prefix}.query.bias`,
    `${prefix}.key.weight`,
    `${prefix}.value.weight`,
    `${prefix}.value.bias`,
    `${prefix}.out.weight`,
    `${prefix}.out.bias`,
  ];
  const block = (p: string) => [
    `${p}.mlp_ln.weight`,
    `${p}.mlp_ln.bias`,
    `${p}.mlp.0.weight`,
    `${p}.mlp.0.bias`,
    `${p}.mlp.2.weight`,
    `${p}.mlp.2.bias`,
    `${p}.attn_ln.weight`,
    `${p}.attn_ln.bias`,
    ...attention(`${p}.attn`),
  ];
  for (let i = 0; i < h.nAudioLayer; i++) for (const n of block(`encoder.blocks.${i}`)) names.add(n);
  for (let i = 0; i < h.nTextLayer; i++) {
    const p = `decoder.blocks.${i}`;
    for (const n of [...block(p), `${p}.cross_attn_ln.weight`, `${p}.cross_attn_ln.bias`, ...attention(`${p}.cross_attn`)]) names.add(n);
  }
  return names;
}

function corrupt(file: string, what: string, kind: 'not-ggml' | 'truncated' | 'malformed'): EchoPanelError {
  const hint =
    kind === 'not-ggml'
      ? 'point providers.whisper-cpp.model at a whisper.cpp ggml file (ggml-<name>.bin)'
      : 'delete the file and convert or download it again';
  return new EchoPanelError('MODEL_CORRUPT', `ggml model ${file} ${what}; ${hint}`, { details: { path: file, kind } });
}

/** Sequential reads over a file descriptor through a 1 MiB buffer; every read is bounds-checked against EOF. */
class FileReader {
  pos = 0;
  private buf = Buffer.alloc(1 << 20);
  private bufStart = 0;
  private bufLen = 0;

  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly file: string,
  ) {}

  remaining(): number {
    return this.size - this.pos;
  }

  i32(what: string): number {
    return this.take(4, what).readInt32LE(0);
  }

  u32(what: string): number {
    return this.take(4, what).readUInt32LE(0);
  }

  str(len: number, what: string): string {
    return this.take(len, what).toString('latin1');
  }

  skip(n: number, what: string): void {
    if (n > this.remaining()) throw this.truncated(what);
    this.pos += n;
  }

  private take(n: number, what: string): Buffer {
    if (n > this.remaining()) throw this.truncated(what);
    if (this.pos < this.bufStart || this.pos + n > this.bufStart + this.bufLen) {
      this.bufStart = this.pos;
      this.bufLen = readSync(this.fd, this.buf, 0, Math.min(this.buf.length, this.size - this.pos), this.pos);
    }
    const off = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(off, off + n);
  }

  private truncated(what: string): EchoPanelError {
    return corrupt(this.file, `is truncated (ends at byte ${this.size} while reading the ${what})`, 'truncated');
  }
}
