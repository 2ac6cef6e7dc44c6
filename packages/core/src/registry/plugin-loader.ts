import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  EchoPanelError,
  errorMessage,
  isEchoPanelError,
  PLUGIN_API_VERSION,
  PLUGIN_BRAND,
  type PluginKind,
  type ProviderPlugin,
  type VadPlugin,
} from '@echopanel/plugin-api';

/** A plugin module found and checked. */
export interface LoadedPlugin {
  /** Import-map key. */
  readonly mapName: string;
  readonly specifier: string;
  readonly kind: PluginKind;
  readonly plugin: ProviderPlugin | VadPlugin;
  readonly packageName?: string;
  readonly version?: string;
  readonly resolvedPath: string;
}

/** A plugin that could not be loaded, with the error that says why. */
export interface PluginFailure {
  readonly mapName: string;
  readonly specifier: string;
  readonly error: EchoPanelError;
}

function isPathSpecifier(specifier: string): boolean {
  return specifier.startsWith('.') || path.isAbsolute(specifier);
}

/** The bare package name of a specifier (`@a/b/sub` → `@a/b`). */
function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Reads name + version of the package that contains `file`. */
function packageInfo(file: string): { name?: string; version?: string } {
  let dir = path.dirname(file);
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      return { name: pkg.name, version: pkg.version };
    } catch {
      const up = path.dirname(dir);
      if (up === dir) return {};
      dir = up;
    }
  }
}

/** True when resolving `specifier` failed because that package/file itself is missing (not one of its imports). */
function isMissingSelf(err: unknown, specifier: string): boolean {
  if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') return false;
  const msg = errorMessage(err);
  return isPathSpecifier(specifier) || msg.includes(`'${specifier}'`) || msg.includes(`'${packageNameOf(specifier)}'`);
}

/**
 * Resolves a plugin specifier from the config's directory first (a project's own copy wins), then from each of
 * `fallbackDirs` (where the host's bundled plugins are installed, so a config anywhere can use them). Paths
 * resolve from the config's directory only. Not found anywhere: PLUGIN_NOT_INSTALLED with the install command.
 */
export function resolvePlugin(mapName: string, specifier: string, configDir: string, fallbackDirs: readonly string[] = []): string {
  const dirs = isPathSpecifier(specifier) ? [configDir] : [...new Set([configDir, ...fallbackDirs])];
  let notFound: unknown;
  for (const dir of dirs) {
    const require = createRequire(path.join(dir, '__echopanel_resolve__.js'));
    try {
      return require.resolve(isPathSpecifier(specifier) ? path.resolve(configDir, specifier) : specifier);
    } catch (err) {
      if (!isMissingSelf(err, specifier)) {
        throw new EchoPanelError('PLUGIN_LOAD_FAILED', `could not load plugin '${mapName}' (${specifier}): ${errorMessage(err)}`, {
          cause: err,
          details: { plugin: mapName, specifier },
        });
      }
      notFound ??= err;
    }
  }
  const hint = isPathSpecifier(specifier)
    ? `no module at ${path.resolve(configDir, specifier)}`
    : `package ${packageNameOf(specifier)} is not installed (looked from ${dirs.join(' and ')}); install it: npm install ${packageNameOf(specifier)}`;
  throw new EchoPanelError('PLUGIN_NOT_INSTALLED', `could not load plugin '${mapName}': ${hint}`, {
    cause: notFound,
    details: { plugin: mapName, specifier },
  });
}

/** Checks that a module's default export is a plugin this host can use. */
export function checkPluginExport(mod: unknown, mapName: string, specifier: string): ProviderPlugin | VadPlugin {
  const where = `plugin '${mapName}' (${specifier})`;
  const candidate = (mod as { default?: unknown } | null)?.default;
  if (candidate === undefined) {
    throw new EchoPanelError('INVALID_PLUGIN', `${where} has no default export; export default defineProvider({...}) (or defineVad)`, {
      details: { plugin: mapName, specifier, missing: 'default' },
    });
  }
  const p = candidate as Record<string | symbol, unknown>;
  const kind = typeof p === 'object' && p !== null ? p[PLUGIN_BRAND] : undefined;
  if (kind !== 'provider' && kind !== 'vad') {
    throw new EchoPanelError('INVALID_PLUGIN', `${where}: the default export was not made by defineProvider() or defineVad() from @echopanel/core`, {
      details: { plugin: mapName, specifier, missing: 'brand' },
    });
  }
  if (typeof p.apiVersion !== 'number' || p.apiVersion !== PLUGIN_API_VERSION) {
    throw new EchoPanelError(
      'INCOMPATIBLE_API',
      `${where} targets plugin API ${String(p.apiVersion)}, this EchoPanel implements API ${PLUGIN_API_VERSION}; install a version of the plugin built for API ${PLUGIN_API_VERSION}`,
      { details: { plugin: mapName, specifier, apiVersion: p.apiVersion, hostApiVersion: PLUGIN_API_VERSION } },
    );
  }
  for (const [field, ok] of [
    ['name', typeof p.name === 'string' && p.name.length > 0],
    ['configSchema', typeof (p.configSchema as { safeParse?: unknown } | undefined)?.safeParse === 'function'],
    ['create', typeof p.create === 'function'],
  ] as const) {
    if (!ok) {
      throw new EchoPanelError('INVALID_PLUGIN', `${where}: '${field}' is missing or has the wrong type`, {
        details: { plugin: mapName, specifier, missing: field },
      });
    }
  }
  return candidate as ProviderPlugin | VadPlugin;
}

/**
 * Resolves ({@link resolvePlugin}), imports and checks one plugin. Throws PLUGIN_NOT_INSTALLED / PLUGIN_LOAD_FAILED
 * / INVALID_PLUGIN / INCOMPATIBLE_API.
 */
export async function loadPlugin(mapName: string, specifier: string, configDir: string, fallbackDirs: readonly string[] = []): Promise<LoadedPlugin> {
  const resolvedPath = resolvePlugin(mapName, specifier, configDir, fallbackDirs);
  let mod: unknown;
  try {
    mod = await import(pathToFileURL(resolvedPath).href);
  } catch (err) {
    throw new EchoPanelError('PLUGIN_LOAD_FAILED', `could not load plugin '${mapName}' (${specifier}): it failed while loading: ${errorMessage(err)}`, {
      cause: err,
      details: { plugin: mapName, specifier, resolvedPath },
    });
  }
  const plugin = checkPluginExport(mod, mapName, specifier);
  const info = packageInfo(resolvedPath);
  return {
    mapName,
    specifier,
    kind: plugin.kind,
    plugin,
    resolvedPath,
    ...(info.name ? { packageName: info.name } : {}),
    ...(info.version ? { version: plugin.version ?? info.version } : {}),
  };
}

/**
 * Loads every plugin of an import map; one broken plugin never stops the others. Sequential on purpose: module
 * evaluation is CPU-bound anyway, and jest's ESM loader races on modules shared by concurrent imports.
 */
export async function loadPlugins(
  importMap: Readonly<Record<string, string>>,
  configDir: string,
  fallbackDirs: readonly string[] = [],
): Promise<{ loaded: LoadedPlugin[]; failures: PluginFailure[] }> {
  const loaded: LoadedPlugin[] = [];
  const failures: PluginFailure[] = [];
  for (const [mapName, specifier] of Object.entries(importMap)) {
    try {
      loaded.push(await loadPlugin(mapName, specifier, configDir, fallbackDirs));
    } catch (err) {
      const error = isEchoPanelError(err)
        ? err
        : new EchoPanelError('PLUGIN_LOAD_FAILED', `could not load plugin '${mapName}': ${errorMessage(err)}`, { cause: err });
      failures.push({ mapName, specifier, error });
    }
  }
  return { loaded, failures };
}
