import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

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
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const out = path.join(path.dirname(filepath), `.${path.basename(filepath)}.${randomBytes(6).toString('hex')}.mjs`);
  await writeFile(out, result.outputFiles[0].contents);
  try {
    const mod = (await import(pathToFileURL(out).href)) as { default?: unknown };
    return await (mod.default ?? mod);
  } finally {
    await rm(out, { force: true });
  }
}
