import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EchoPanelError, hasErrorCode, type ModelResolver, type ResolvedModel } from '@echopanel/plugin-api';

/** What the locator needs from the plugin context. */
export interface ModelLocatorContext {
  readonly models: ModelResolver;
  readonly configDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** True when `ref` names a file rather than a catalog model. */
export function isPathRef(ref: string): boolean {
  return /[\\/]/.test(ref) || ref.startsWith('~') || /\.(bin|ggml|gguf)$/i.test(ref);
}

/** whisper.cpp's file name for a catalog model: `tiny.en` → `ggml-tiny.en.bin`. */
export function ggmlFileName(name: string): string {
  return name.endsWith('.bin') ? name : `ggml-${name}.bin`;
}

/**
 * Where whisper.cpp installs usually keep models, after `ECHOPANEL_MODEL_PATH`. Searched for
 * catalog names only when the model store has nothing.
 */
export function commonModelDirs(ctx: Pick<ModelLocatorContext, 'configDir'>, home = os.homedir()): string[] {
  return [
    path.join(home, '.cache', 'whisper'),
    path.join(home, '.local', 'share', 'whisper'),
    '/usr/local/share/whisper',
    path.join(ctx.configDir, 'models'),
    ctx.configDir,
  ];
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function fromPath(file: string, name: string, resolvedBy: ResolvedModel['resolvedBy'], source: string): ResolvedModel {
  return {
    path: file,
    resolvedBy,
    identity: { name, format: 'ggml', path: file, sizeBytes: statSync(file).size, source },
  };
}

/**
 * Finds a ggml file without downloading: a path (relative to the config dir) as given; a catalog name in
 * `ECHOPANEL_MODEL_PATH`, then the model store (through the resolver), then the common whisper.cpp dirs.
 * Returns the places searched when nothing matched.
 */
export async function findGgmlModel(ref: string, ctx: ModelLocatorContext): Promise<{ model?: ResolvedModel; searched: string[] }> {
  if (isPathRef(ref)) {
    const file = path.resolve(ctx.configDir, expandHome(ref));
    return isFile(file) ? { model: fromPath(file, path.basename(file), 'path', 'config path'), searched: [file] } : { searched: [file] };
  }
  const fileName = ggmlFileName(ref);
  const searched: string[] = [];
  const envDir = ctx.env.ECHOPANEL_MODEL_PATH;
  if (envDir) {
    const file = path.join(expandHome(envDir), fileName);
    searched.push(file);
    if (isFile(file)) return { model: fromPath(file, ref, 'path', 'ECHOPANEL_MODEL_PATH'), searched };
  }
  const stored = await ctx.models.find(ref, 'ggml');
  if (stored && existsSync(stored.path)) return { model: stored, searched };
  searched.push(`model store (${ref}, ggml)`);
  for (const dir of commonModelDirs(ctx)) {
    const file = path.join(dir, fileName);
    searched.push(file);
    if (isFile(file)) return { model: fromPath(file, ref, 'path', dir), searched };
  }
  return { searched };
}

/**
 * Like {@link findGgmlModel}, then lets the resolver fetch a catalog model when that is allowed.
 * @throws EchoPanelError MODEL_NOT_FOUND naming every place searched.
 */
export async function locateGgmlModel(ref: string, ctx: ModelLocatorContext, signal?: AbortSignal): Promise<ResolvedModel> {
  const { model, searched } = await findGgmlModel(ref, ctx);
  if (model) return model;
  if (!isPathRef(ref)) {
    try {
      return await ctx.models.resolve(ref, 'ggml', { signal });
    } catch (err) {
      if (!hasErrorCode(err, 'MODEL_NOT_FOUND')) throw err;
    }
  }
  throw new EchoPanelError('MODEL_NOT_FOUND', `ggml model "${ref}" not found (searched: ${searched.join(', ')})`, {
    details: { model: ref, searched },
  });
}

/** The user-facing fix for a missing model. */
export function missingModelHint(ref: string): string {
  return isPathRef(ref)
    ? `check providers.whisper-cpp.model (${ref}); it must be a whisper.cpp ggml file`
    : `run the bootstrap (node scripts/bootstrap.mjs) to convert the bundled ${ref} to ggml, put ${ggmlFileName(ref)} in ECHOPANEL_MODEL_PATH, or set providers.whisper-cpp.model to a ggml file path`;
}
