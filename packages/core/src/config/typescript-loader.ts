import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { build, type Plugin } from 'esbuild';

/** This copy of core (dist/config/ → dist/index.js), for a config whose directory has no core installed. */
const SELF = new URL('../index.js', import.meta.url).href;

/**
 * `import { defineConfig } from '@echopanel/core'` in a config outside any EchoPanel project (e.g.
 * `echopanel serve --config /some/dir/echopanel.config.ts`) resolves to the core that is loading it; a project's
 * own installed core still wins.
 */
const coreFallback: Plugin = {
  name: 'echopanel-core-fallback',
  setup(b) {
    b.onResolve({ filter: /^@echopanel\/core$/ }, (args) => {
      try {
        createRequire(path.join(args.resolveDir, '__echopanel_config__.js')).resolve('@echopanel/core');
        return { path: args.path, external: true };
      } catch {
        return { path: SELF, external: true };
      }
    });
  },
};

/**
 * The local files a `.ts`/`.mts` config is built from (itself and what it imports relatively), absolute; for
 * any other config only the file itself. What a config watcher watches.
 */
export async function configSourceFiles(filepath: string): Promise<string[]> {
  if (!/\.m?ts$/.test(filepath)) return [path.resolve(filepath)];
  const result = await build({
    entryPoints: [filepath],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    plugins: [coreFallback],
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs).map((f) => path.resolve(f));
}

/**
 * cosmiconfig loader for `.ts`/`.mts` configs. cosmiconfig's own loader transpiles the file alone, so a config
 * that imports `./local-settings.ts` breaks; here esbuild bundles the config with its relative imports (packages
 * stay external and resolve from the config's directory, where the bundle is written) and Node imports it.
 */
export async function loadTypeScriptConfig(filepath: string): Promise<unknown> {
  const result = await build({
    entryPoints: [filepath],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    plugins: [coreFallback],
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const out = path.join(path.dirname(filepath), `.${path.basename(filepath)}.${randomBytes(6).toString('hex')}.mjs`);
  await writeFile(out, result.outputFiles[0].contents);
  try {
    const mod = (await import(pathToFileURL(out).href)) as { default?: unknown };
    // The default export may itself be a promise of the config: settle it before the file is removed.
    return await Promise.resolve(mod.default ?? mod);
  } finally {
    await rm(out, { force: true });
  }
}
