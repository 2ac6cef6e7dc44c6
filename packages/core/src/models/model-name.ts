import os from 'node:os';
import path from 'node:path';
import { EchoPanelError } from '@echopanel/plugin-api';

/** `ECHOPANEL_MODEL_DIR`, else `~/.cache/echopanel/models`. */
export function defaultModelDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.ECHOPANEL_MODEL_DIR || path.join(os.homedir(), '.cache', 'echopanel', 'models');
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** True when a model reference means a file system path rather than a catalog/store name. */
export function looksLikePath(ref: string): boolean {
  return path.isAbsolute(ref) || ref.startsWith('./') || ref.startsWith('../') || ref.startsWith('~') || /[\\/]/.test(ref);
}

/**
 * Checks a store model name: one path segment of letters, digits and `._+-`, no `..`. Throws INVALID_MODEL_NAME,
 * so no name from config or an API request can reach outside the store.
 */
export function validateModelName(name: string): string {
  if (!NAME.test(name) || name.includes('..')) {
    throw new EchoPanelError('INVALID_MODEL_NAME',
      `invalid model name ${JSON.stringify(name)}: use a catalog name like "tiny.en" (letters, digits, ".", "-", "_", "+"; no "/" or ".."), or give an explicit path`,
      { details: { name } });
  }
  return name;
}

/** `root/format/name`, checked to stay inside `root`. */
export function storeDir(root: string, format: string, name: string): string {
  validateModelName(name);
  validateModelName(format);
  const base = path.resolve(root);
  const dir = path.resolve(base, format, name);
  if (!dir.startsWith(base + path.sep)) {
    throw new EchoPanelError('INVALID_MODEL_NAME', `model ${name} would resolve outside the store ${base}`, { details: { name } });
  }
  return dir;
}
