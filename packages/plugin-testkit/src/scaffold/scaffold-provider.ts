import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EchoPanelError } from '@echopanel/plugin-api';

/** This package's directory (the template ships in it). */
const KIT_DIR = fileURLToPath(new URL('../../', import.meta.url));
const TEMPLATE_DIR = path.join(KIT_DIR, 'template');
/** The provider name the template is written with, replaced by the new one. */
const TEMPLATE_NAME = 'dtmf-example';

/** Build tools of a generated package (from the npm registry). */
const TOOL_VERSIONS = { typescript: '~5.9.3', '@types/node': '^20.19.0' };

export interface ScaffoldOptions {
  /** npm package name, e.g. `echopanel-provider-acme` or `@acme/echopanel-provider-acme`. */
  readonly name: string;
  /** Where to write it (must not exist, or be empty). */
  readonly dir: string;
}

export interface ScaffoldResult {
  readonly dir: string;
  readonly packageName: string;
  /** The config key (`asr.provider`): the package name without scope and `echopanel-provider-`. */
  readonly providerName: string;
  /** `workspace`: inside this EchoPanel workspace (`*` ranges); `file`: `file:` links to this installation. */
  readonly linkedBy: 'workspace' | 'file';
  readonly files: readonly string[];
}

const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/** The provider name a package name gives. */
export function providerNameOf(packageName: string): string {
  return packageName.replace(/^@[^/]+\//, '').replace(/^echopanel-provider-/, '');
}

function installedDir(pkg: string): string {
  const require = createRequire(path.join(KIT_DIR, 'package.json'));
  return realpathSync(path.dirname(require.resolve(`${pkg}/package.json`)));
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** True when `dir` is a package of the npm workspace this kit is part of (its parent matches a `dir/*` glob). */
function inThisWorkspace(dir: string): boolean {
  let root = path.dirname(realpathSync(KIT_DIR));
  for (;;) {
    const pkg = path.join(root, 'package.json');
    if (existsSync(pkg)) {
      const workspaces = readJson(pkg).workspaces;
      if (Array.isArray(workspaces)) {
        const parent = path.dirname(dir);
        return workspaces.some((w) => typeof w === 'string' && w.endsWith('/*') && path.resolve(root, w.slice(0, -2)) === parent);
      }
    }
    const up = path.dirname(root);
    if (up === root) return false;
    root = up;
  }
}

/**
 * Writes a provider plugin package from the template: a small real engine (DTMF tones to words) behind the
 * provider contract, its config schema, README, tsconfig and a test that runs the conformance kit. Inside this
 * EchoPanel workspace the @echopanel packages are workspace dependencies; anywhere else they are `file:` links
 * to this installation (they are not on the npm registry). Throws INVALID_CONFIG for a bad name or a used dir.
 */
export function scaffoldProviderPackage(options: ScaffoldOptions): ScaffoldResult {
  const packageName = options.name.trim();
  if (!PACKAGE_NAME.test(packageName)) {
    throw new EchoPanelError('INVALID_CONFIG', `'${options.name}' is not an npm package name (lower case, e.g. echopanel-provider-acme or @acme/echopanel-provider-acme)`);
  }
  const providerName = providerNameOf(packageName);
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(providerName)) {
    throw new EchoPanelError('INVALID_CONFIG', `'${providerName}' (from '${packageName}') is not a provider name: a-z, 0-9, '.', '_' and '-'`);
  }
  const dir = path.resolve(options.dir);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new EchoPanelError('INVALID_CONFIG', `${dir} already exists and is not empty; choose another --dir`);
  }
  mkdirSync(dir, { recursive: true });
  const linkedBy = inThisWorkspace(realpathSync(dir)) ? 'workspace' : 'file';
  const apiDir = installedDir('@echopanel/plugin-api');
  const kitDir = realpathSync(KIT_DIR);
  const api = readJson(path.join(apiDir, 'package.json')) as { version: string; peerDependencies: { zod: string } };
  const kit = readJson(path.join(kitDir, 'package.json')) as { version: string };
  const link = (d: string, version: string) => (linkedBy === 'workspace' ? `^${version}` : `file:${d}`);

  const files: string[] = [];
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
    files.push(rel);
  };
  const render = (text: string) =>
    text
      .replaceAll(`'${TEMPLATE_NAME}'`, `'${providerName}'`)
      .replaceAll('{{package}}', packageName)
      .replaceAll('{{provider}}', providerName)
      .replaceAll(
        '{{deps}}',
        linkedBy === 'workspace'
          ? 'workspace ranges: npm links them from this workspace (`npm install` at its root)'
          : `\`file:\` links to the EchoPanel installation that generated this package (\`${apiDir}\` and \`${kitDir}\`)`,
      );

  write(
    'package.json',
    JSON.stringify(
      {
        name: packageName,
        version: '0.1.0',
        description: `EchoPanel provider plugin '${providerName}'`,
        type: 'module',
        main: './dist/index.js',
        types: './dist/index.d.ts',
        exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' },
        files: ['dist', 'README.md'],
        scripts: { build: 'tsc -p tsconfig.json', test: 'tsc -p tsconfig.json && node --test test/' },
        keywords: ['echopanel', 'echopanel-plugin'],
        peerDependencies: { '@echopanel/plugin-api': `^${api.version}`, zod: api.peerDependencies.zod },
        devDependencies: {
          '@echopanel/plugin-api': link(apiDir, api.version),
          '@echopanel/plugin-testkit': link(kitDir, kit.version),
          zod: api.peerDependencies.zod,
          ...TOOL_VERSIONS,
        },
      },
      null,
      2,
    ) + '\n',
  );
  for (const rel of ['src/index.ts', 'src/config.ts', 'src/provider.ts', 'src/dtmf.ts', 'test/conformance.test.mjs', 'test/conformance-options.mjs', 'tsconfig.json', 'README.md']) {
    write(rel, render(readFileSync(path.join(TEMPLATE_DIR, rel), 'utf8')));
  }
  // npm drops a package's .gitignore, so the template ships it without the dot.
  cpSync(path.join(TEMPLATE_DIR, 'gitignore'), path.join(dir, '.gitignore'));
  files.push('.gitignore');
  return { dir, packageName, providerName, linkedBy, files };
}
