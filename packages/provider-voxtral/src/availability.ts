import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Availability } from '@echopanel/plugin-api';

/** Files voxtral.c's `download_model.sh` puts in the model directory. */
export const MODEL_FILES = ['consolidated.safetensors', 'tekken.json', 'params.json'] as const;

export const BUILD_HINT =
  'build voxtral.c: git clone https://github.com/antirez/voxtral.c && cd voxtral.c && make blas (Linux, needs ' +
  'libopenblas-dev; `make avx512` on AVX-512 BF16 CPUs; `make mps` on Apple Silicon), then set ' +
  'providers.voxtral.binary (or VOXTRAL_BIN) to the built ./voxtral';
export const DOWNLOAD_HINT =
  "download the weights (~8.9 GB) with voxtral.c's ./download_model.sh (writes ./voxtral-model), then set " +
  'providers.voxtral.modelDir (or VOXTRAL_MODEL_DIR) to that directory';

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const st = await stat(file);
    if (!st.isFile()) return false;
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves the executable: a value with a path separator is a path (relative to `baseDir`), a bare name is looked
 * up on PATH like a shell does. Returns undefined when nothing executable is found.
 */
export async function resolveBinary(binary: string, baseDir: string, envPath: string | undefined): Promise<string | undefined> {
  if (binary.includes('/') || binary.includes(path.sep)) {
    const file = path.resolve(baseDir, binary);
    return (await isExecutableFile(file)) ? file : undefined;
  }
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, binary);
    if (await isExecutableFile(file)) return file;
  }
  return undefined;
}

/** Which of {@link MODEL_FILES} are missing from `modelDir` (all of them when the directory does not exist). */
export async function missingModelFiles(modelDir: string): Promise<string[]> {
  const missing: string[] = [];
  for (const name of MODEL_FILES) {
    try {
      const st = await stat(path.join(modelDir, name));
      if (!st.isFile()) missing.push(name);
    } catch {
      missing.push(name);
    }
  }
  return missing;
}

/** Whether voxtral.c can run with this binary and model directory, and exactly why not. */
export async function checkAvailability(
  binary: string,
  modelDir: string,
  baseDir: string,
  envPath: string | undefined,
): Promise<Availability & { binaryPath?: string }> {
  const binaryPath = await resolveBinary(binary, baseDir, envPath);
  if (!binaryPath) {
    const where = binary.includes('/') ? path.resolve(baseDir, binary) : `"${binary}" on PATH`;
    return { available: false, reason: `voxtral.c executable not found: no executable file at ${where}`, hint: BUILD_HINT };
  }
  const missing = await missingModelFiles(modelDir);
  if (missing.length > 0) {
    return {
      available: false,
      reason: `voxtral model directory ${modelDir} is missing ${missing.join(', ')}`,
      hint: DOWNLOAD_HINT,
      code: 'MODEL_NOT_FOUND',
    };
  }
  return { available: true, binaryPath };
}
