import { open } from 'node:fs/promises';
import { EchoPanelError } from '@echopanel/plugin-api';

/** `ggml` in ASCII, read as a little-endian int32 at the start of every whisper.cpp model file. */
export const GGML_MAGIC = 0x67676d6c;

/** The 11 int32 hyper-parameters after the magic, in file order. */
export interface WhisperHparams {
  readonly nVocab: number;
  readonly nAudioCtx: number;
  readonly nAudioState: number;
  readonly nAudioHead: number;
  readonly nAudioLayer: number;
  readonly nTextCtx: number;
  readonly nTextState: number;
  readonly nTextHead: number;
  readonly nTextLayer: number;
  readonly nMels: number;
  /** 0 = f32, 1 = f16 (quantized types carry a version factor of 1000). */
  readonly ftype: number;
}

export const HPARAM_KEYS = [
  'nVocab', 'nAudioCtx', 'nAudioState', 'nAudioHead', 'nAudioLayer',
  'nTextCtx', 'nTextState', 'nTextHead', 'nTextLayer', 'nMels', 'ftype',
] as const satisfies readonly (keyof WhisperHparams)[];

/** Serializes magic + hparams (48 bytes). */
export function encodeGgmlHeader(h: WhisperHparams): Buffer {
  const b = Buffer.alloc(4 * (1 + HPARAM_KEYS.length));
  b.writeInt32LE(GGML_MAGIC, 0);
  HPARAM_KEYS.forEach((k, i) => b.writeInt32LE(h[k], 4 * (i + 1)));
  return b;
}

/**
 * Reads and sanity-checks the header of a whisper.cpp ggml file (a cheap load-time check: catches files that are
 * not ggml, are truncated to nothing or hold nonsense). Throws MODEL_CORRUPT.
 */
export async function readGgmlHeader(path: string): Promise<WhisperHparams> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const b = Buffer.alloc(48 + 8);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    if (bytesRead < b.length) throw ggmlCorrupt(path, `only ${size} bytes long`);
    const magic = b.readUInt32LE(0);
    if (magic !== GGML_MAGIC) throw ggmlCorrupt(path, `bad magic 0x${magic.toString(16).padStart(8, '0')} (expected 0x67676d6c)`);
    const h = Object.fromEntries(HPARAM_KEYS.map((k, i) => [k, b.readInt32LE(4 * (i + 1))])) as unknown as WhisperHparams;
    const positive = HPARAM_KEYS.filter((k) => k !== 'ftype').every((k) => h[k] > 0 && h[k] < 1 << 20);
    if (!positive || h.ftype < 0) throw ggmlCorrupt(path, `implausible hyper-parameters ${JSON.stringify(h)}`);
    const nMel = b.readInt32LE(48);
    const nFft = b.readInt32LE(52);
    if (nMel !== h.nMels || nFft <= 0 || nFft > 4096) throw ggmlCorrupt(path, `bad mel filter header (${nMel} × ${nFft})`);
    // The token embedding alone is n_vocab × n_text_state halves; a file smaller than that is truncated.
    const minBytes = h.nVocab * h.nTextState * (h.ftype === 0 ? 4 : 0.5);
    if (size < minBytes) throw ggmlCorrupt(path, `${size} bytes is too small for its hyper-parameters (truncated?)`);
    return h;
  } finally {
    await fh.close();
  }
}

function ggmlCorrupt(path: string, what: string): EchoPanelError {
  return new EchoPanelError('MODEL_CORRUPT', `ggml model ${path}: ${what}. Delete it and pull or convert it again.`, {
    details: { path },
  });
}
