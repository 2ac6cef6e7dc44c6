import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  EchoPanelError,
  errorMessage,
  isEchoPanelError,
  type Logger,
  type ModelFormat,
  type ModelIdentity,
  type ResolvedBy,
  type ResolvedModel,
  silentLogger,
} from '@echopanel/plugin-api';
import { Ct2ModelFile, readGgmlHeader } from '@echopanel/whisper-models';
import { downloadFile, type DownloadOptions, type DownloadProgress } from './download-file.js';
import { sha256File } from './file-hash.js';
import { acquireFileLock } from './file-lock.js';
import { findCatalogEntry, MODEL_CATALOG, type CatalogEntry } from './model-catalog.js';
import { readManifest, writeManifest, type ModelManifest } from './model-manifest.js';
import type { InstalledModelPackage } from './model-package.js';
import { defaultModelDir, storeDir, validateModelName } from './model-name.js';

export interface ModelStoreOptions {
  /** Store root (default {@link defaultModelDir}). */
  readonly root?: string;
  readonly catalog?: readonly CatalogEntry[];
  readonly logger?: Logger;
  readonly fetch?: typeof fetch;
  /** Download tuning (timeouts, retries, disk margin). */
  readonly download?: Pick<DownloadOptions, 'connectTimeoutMs' | 'idleTimeoutMs' | 'retries' | 'diskMarginBytes'>;
  /** How long a pull waits for another process pulling the same model (default 10 min). */
  readonly lockWaitMs?: number;
}

/** One row of `echopanel models list --json`. */
export interface ModelListEntry {
  readonly name: string;
  readonly format: ModelFormat;
  readonly version?: string;
  readonly path?: string;
  /** Installed size of the primary file, else the catalog size. */
  readonly size?: number;
  readonly sha256?: string;
  readonly installed: boolean;
  /** Installed, the cheap check passes and a full sha256 verification passed at `verifiedAt`. */
  readonly verified: boolean;
  readonly inCatalog: boolean;
  readonly problem?: string;
}

export interface VerifyReport {
  readonly name: string;
  readonly format: ModelFormat;
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly manifest?: ModelManifest;
}

export interface PullOptions {
  readonly onProgress?: (p: DownloadProgress & { readonly file: string; readonly fileIndex: number; readonly fileCount: number }) => void;
  readonly signal?: AbortSignal;
  /** Download even when a verified copy is installed. */
  readonly force?: boolean;
}

export interface InstallOptions {
  readonly name: string;
  readonly format: ModelFormat;
  readonly version: string;
  readonly source: string;
  /** The primary file name inside the model directory. */
  readonly primary: string;
  /** Writes the model's files into `dir` (a staging directory, moved into place afterwards). */
  readonly build: (dir: string) => Promise<void>;
}

/**
 * The model store: `<root>/<format>/<name>/` holding the model files and a `manifest.json` (name, format,
 * version, source, size, sha256, createdAt). Writers hold a per-model lock file and publish by renaming a
 * complete staging directory, so readers never see half a model.
 */
export class ModelStore {
  readonly root: string;
  private readonly catalog: readonly CatalogEntry[];
  private readonly logger: Logger;
  /** Files whose full hash matched in this process, by path + size + mtime. */
  private readonly hashed = new Map<string, string>();

  constructor(private readonly options: ModelStoreOptions = {}) {
    this.root = path.resolve(options.root ?? defaultModelDir());
    this.catalog = options.catalog ?? MODEL_CATALOG;
    this.logger = options.logger ?? silentLogger;
  }

  /** The model's directory (validated name; never outside the root). */
  modelDir(name: string, format: ModelFormat): string {
    return storeDir(this.root, format, name);
  }

  catalogEntry(name: string, format: ModelFormat): CatalogEntry | undefined {
    return findCatalogEntry(name, format, this.catalog);
  }

  catalogEntries(): readonly CatalogEntry[] {
    return this.catalog;
  }

  /** The manifest of an installed model, or undefined. */
  async read(name: string, format: ModelFormat): Promise<ModelManifest | undefined> {
    return readManifest(this.modelDir(name, format));
  }

  /** Every installed model's manifest. */
  async installed(): Promise<ModelManifest[]> {
    const out: ModelManifest[] = [];
    for (const format of ['ct2', 'ggml'] as const) {
      const dir = path.join(this.root, format);
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names.sort()) {
        try {
          validateModelName(name);
          const m = await this.read(name, format);
          if (m) out.push(m);
        } catch (err) {
          this.logger.warn({ name, format, err: errorMessage(err) }, 'skipping unreadable model directory');
        }
      }
    }
    return out;
  }

  /**
   * Catalog + installed models, with a cheap check of each installed one. With `package`, the CTranslate2 model
   * an installed model package ships counts as installed (verified when its model.bin hashes to the catalog's).
   */
  async list(options: { package?: InstalledModelPackage } = {}): Promise<ModelListEntry[]> {
    const rows: ModelListEntry[] = [];
    const seen = new Set<string>();
    for (const m of await this.installed()) {
      seen.add(`${m.format}/${m.name}`);
      const report = await this.check(m.name, m.format, { deep: false });
      rows.push({
        name: m.name,
        format: m.format,
        version: m.version,
        path: this.primaryPath(m),
        size: m.sizeBytes,
        sha256: m.sha256,
        installed: true,
        verified: report.ok && m.verifiedAt !== undefined,
        inCatalog: this.catalogEntry(m.name, m.format) !== undefined,
        ...(report.ok ? {} : { problem: report.problems.join('; ') }),
      });
    }
    const pkg = options.package;
    if (pkg && !seen.has(`ct2/${pkg.modelName}`)) {
      seen.add(`ct2/${pkg.modelName}`);
      const file = path.join(pkg.path, 'model.bin');
      const size = (await stat(file)).size;
      const published = this.catalogEntry(pkg.modelName, 'ct2')?.files.find((f) => f.path === 'model.bin');
      const sha256 = await sha256File(file);
      rows.push({
        name: pkg.modelName,
        format: 'ct2',
        version: `${pkg.package} ${pkg.version}`,
        path: pkg.path,
        size,
        sha256,
        installed: true,
        verified: published?.sha256 === sha256,
        inCatalog: published !== undefined,
      });
    }
    for (const e of this.catalog) {
      if (seen.has(`${e.format}/${e.name}`)) continue;
      const primary = e.files.find((f) => f.path === e.primary);
      rows.push({
        name: e.name,
        format: e.format,
        version: e.revision,
        size: primary?.sizeBytes,
        sha256: primary?.sha256,
        installed: false,
        verified: false,
        inCatalog: true,
      });
    }
    return rows;
  }

  /** What to hand the engine: the ggml file, or the ct2 directory. */
  primaryPath(m: Pick<ModelManifest, 'name' | 'format' | 'primary'>): string {
    const dir = this.modelDir(m.name, m.format);
    return m.format === 'ggml' ? path.join(dir, m.primary) : dir;
  }

  /**
   * Checks an installed model against its manifest: every file present with its recorded size and a readable
   * header (cheap); with `deep`, also every file's sha256.
   */
  async check(name: string, format: ModelFormat, options: { deep?: boolean } = {}): Promise<VerifyReport> {
    const problems: string[] = [];
    let manifest: ModelManifest | undefined;
    try {
      manifest = await this.read(name, format);
    } catch (err) {
      return { name, format, ok: false, problems: [errorMessage(err)] };
    }
    if (!manifest) return { name, format, ok: false, problems: ['not installed'] };
    const dir = this.modelDir(name, format);
    for (const f of manifest.files) {
      const file = path.join(dir, f.path);
      const s = await stat(file).catch(() => undefined);
      if (!s) {
        problems.push(`${f.path} is missing`);
        continue;
      }
      if (s.size !== f.sizeBytes) {
        problems.push(`${f.path} is ${s.size} bytes, the manifest says ${f.sizeBytes}`);
        continue;
      }
      if (options.deep) {
        const key = `${file}:${s.size}:${s.mtimeMs}`;
        const sha = this.hashed.get(key) ?? (await sha256File(file));
        if (sha !== f.sha256) problems.push(`${f.path} sha256 ${sha} does not match the manifest's ${f.sha256}`);
        else this.hashed.set(key, sha);
      }
    }
    if (problems.length === 0) {
      try {
        await checkHeader(format, path.join(dir, manifest.primary));
      } catch (err) {
        problems.push(errorMessage(err));
      }
    }
    return { name, format, ok: problems.length === 0, problems, manifest };
  }

  /** Full verification (size + sha256 + header); records `verifiedAt`. Throws MODEL_CORRUPT / MODEL_NOT_FOUND. */
  async verify(name: string, format: ModelFormat): Promise<ModelManifest> {
    const report = await this.check(name, format, { deep: true });
    if (!report.manifest) {
      throw new EchoPanelError('MODEL_NOT_FOUND', `${format} model ${name} is not installed in ${this.root}; run: echopanel models pull ${name} --format ${format}`, {
        details: { name, format, root: this.root },
      });
    }
    if (!report.ok) throw this.corrupt(name, format, report.problems);
    const verified = { ...report.manifest, verifiedAt: new Date().toISOString() };
    await writeManifest(this.modelDir(name, format), verified).catch((err) => this.logger.warn({ err: errorMessage(err) }, 'could not record verification'));
    return verified;
  }

  corrupt(name: string, format: ModelFormat, problems: readonly string[]): EchoPanelError {
    return new EchoPanelError('MODEL_CORRUPT',
      `${format} model ${name} in ${this.modelDir(name, format)} is corrupt: ${problems.join('; ')}. ` +
        `Run: echopanel models remove ${name} --format ${format} && echopanel models pull ${name} --format ${format}`,
      { details: { name, format, problems: [...problems] } });
  }

  /** Deletes an installed model; false when it was not there. */
  async remove(name: string, format: ModelFormat): Promise<boolean> {
    const dir = this.modelDir(name, format);
    if (!existsSync(dir)) return false;
    await this.withLock(name, format, async () => {
      const trash = path.join(this.root, '.trash', `${format}-${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
      await mkdir(path.dirname(trash), { recursive: true });
      await rename(dir, trash);
      await rm(trash, { recursive: true, force: true });
    });
    return true;
  }

  /** Runs `fn` holding this model's lock file. */
  async withLock<T>(name: string, format: ModelFormat, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    validateModelName(name);
    const lock = await acquireFileLock(path.join(this.root, '.locks', `${format}-${name}.lock`), {
      waitMs: this.options.lockWaitMs,
      signal,
      onWait: (holder) => this.logger.info({ name, format, holder }, 'another process is writing this model; waiting'),
    });
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  }

  /**
   * Stores a model produced by `build` (e.g. a conversion) under the lock (pass `lockHeld` from inside
   * {@link withLock}): files are hashed into the manifest and the directory replaces any previous one atomically.
   */
  async install(options: InstallOptions, how: { resolvedBy?: ResolvedBy; lockHeld?: boolean } = {}): Promise<ResolvedModel> {
    const run = (): Promise<ResolvedModel> => this.installUnlocked(options, how.resolvedBy ?? 'store');
    return how.lockHeld ? run() : this.withLock(options.name, options.format, run);
  }

  private async installUnlocked(options: InstallOptions, resolvedBy: ResolvedBy): Promise<ResolvedModel> {
    const staging = path.join(this.root, '.staging', `${options.format}-${options.name}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(staging, { recursive: true });
    try {
      await options.build(staging);
      const manifest = await this.manifestFor(staging, options);
      await checkHeader(options.format, path.join(staging, options.primary));
      await writeManifest(staging, manifest);
      await this.publish(staging, options.name, options.format);
      this.logger.info({ name: options.name, format: options.format, version: manifest.version, sha256: manifest.sha256 }, 'model stored');
      return this.resolved(manifest, resolvedBy);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  private async manifestFor(dir: string, o: InstallOptions, known: Map<string, string> = new Map()): Promise<ModelManifest> {
    const files: { path: string; sizeBytes: number; sha256: string }[] = [];
    for (const f of (await readdir(dir)).sort()) {
      const s = await stat(path.join(dir, f));
      if (!s.isFile()) continue;
      files.push({ path: f, sizeBytes: s.size, sha256: known.get(f) ?? (await sha256File(path.join(dir, f))) });
    }
    const primary = files.find((f) => f.path === o.primary);
    if (!primary) throw new EchoPanelError('MODEL_CORRUPT', `model ${o.name}: primary file ${o.primary} was not produced`);
    const now = new Date().toISOString();
    return {
      name: o.name,
      format: o.format,
      version: o.version,
      source: o.source,
      sizeBytes: primary.sizeBytes,
      sha256: primary.sha256,
      primary: o.primary,
      files,
      createdAt: now,
      verifiedAt: now,
    };
  }

  private async publish(staging: string, name: string, format: ModelFormat): Promise<void> {
    const dir = this.modelDir(name, format);
    await mkdir(path.dirname(dir), { recursive: true });
    if (existsSync(dir)) {
      const trash = path.join(this.root, '.trash', `${format}-${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
      await mkdir(path.dirname(trash), { recursive: true });
      await rename(dir, trash);
      await rename(staging, dir);
      await rm(trash, { recursive: true, force: true });
    } else {
      await rename(staging, dir);
    }
  }

  /** The ResolvedModel for an installed manifest. */
  resolved(m: ModelManifest, resolvedBy: ResolvedBy): ResolvedModel {
    const p = this.primaryPath(m);
    const identity: ModelIdentity = {
      name: m.name,
      format: m.format,
      version: m.version,
      sha256: m.sha256,
      path: p,
      sizeBytes: m.sizeBytes,
      source: m.source,
    };
    return { path: p, identity, resolvedBy };
  }

  /**
   * Downloads a catalog model into the store: each file streamed (resumable) and checked against the catalog's
   * size/sha256 (or hashed and recorded when the catalog has none), then published with a manifest. A second
   * pull of the same model waits for the first and then finds it installed.
   */
  async pull(name: string, format: ModelFormat, options: PullOptions = {}): Promise<ResolvedModel> {
    validateModelName(name);
    const entry = this.catalogEntry(name, format);
    if (!entry) {
      const known = this.catalog.filter((e) => e.format === format).map((e) => e.name);
      throw new EchoPanelError('MODEL_NOT_FOUND', `no ${format} model named ${name} in the catalog (known: ${known.join(', ')}); pass a path instead`, {
        details: { name, format },
      });
    }
    return this.withLock(name, format, async () => {
      if (!options.force) {
        const report = await this.check(name, format, { deep: false });
        if (report.ok && report.manifest && (entry.files.find((f) => f.path === entry.primary)?.sha256 ?? report.manifest.sha256) === report.manifest.sha256) {
          this.logger.info({ name, format }, 'already installed');
          return this.resolved(report.manifest, 'store');
        }
      }
      const partialDir = path.join(this.root, '.partial', `${format}-${name}`);
      await mkdir(partialDir, { recursive: true });
      const hashes = new Map<string, string>();
      for (const [i, f] of entry.files.entries()) {
        const dest = path.join(partialDir, f.path);
        if (existsSync(dest) && f.sha256 && (await sha256File(dest)) === f.sha256) {
          hashes.set(f.path, f.sha256);
          continue;
        }
        await rm(dest, { force: true });
        this.logger.info({ name, format, url: f.url }, 'downloading');
        const r = await downloadFile({
          url: f.url,
          dest,
          expectedSize: f.sizeBytes,
          expectedSha256: f.sha256,
          signal: options.signal,
          fetch: this.options.fetch,
          ...this.options.download,
          onProgress: (p) => options.onProgress?.({ ...p, file: f.path, fileIndex: i, fileCount: entry.files.length }),
        });
        if (!f.sha256) this.logger.warn({ name, format, file: f.path, sha256: r.sha256 }, 'catalog has no sha256 for this file; recorded the downloaded one');
        hashes.set(f.path, r.sha256);
      }
      const install: InstallOptions = {
        name,
        format,
        version: `${entry.repo}@${entry.revision}`,
        source: entry.files.find((f) => f.path === entry.primary)?.url ?? entry.repo,
        primary: entry.primary,
        build: async () => undefined,
      };
      try {
        await checkHeader(format, path.join(partialDir, entry.primary));
      } catch (err) {
        await rm(partialDir, { recursive: true, force: true });
        throw err;
      }
      const manifest = await this.manifestFor(partialDir, install, hashes);
      await writeManifest(partialDir, manifest);
      await this.publish(partialDir, name, format);
      this.logger.info({ name, format, sha256: manifest.sha256 }, 'model pulled');
      return this.resolved(manifest, 'download');
    }, options.signal);
  }
}

/** Cheap structural check of a model's primary file; throws MODEL_CORRUPT. */
export async function checkHeader(format: ModelFormat, primaryFile: string): Promise<void> {
  if (format === 'ggml') {
    await readGgmlHeader(primaryFile);
    return;
  }
  try {
    const f = await Ct2ModelFile.open(primaryFile);
    await f.close();
  } catch (err) {
    if (isEchoPanelError(err)) throw err;
    throw new EchoPanelError('MODEL_CORRUPT', `${primaryFile}: ${errorMessage(err)}`, { cause: err });
  }
}
