import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { createModelResolver, EchoPanelError, errorMessage, findProjectPython, type ProviderPlugin } from '@echopanel/core';
import {
  CONFORMANCE_CHECKS,
  formatCheckResult,
  runProviderConformance,
  scaffoldProviderPackage,
  type ConformanceCheckId,
  type ConformanceOptions,
} from '@echopanel/plugin-testkit';
import { cliLogger } from '../cli-logger.js';

/** This package's directory: the project Python of the installed EchoPanel is found from here too. */
const SERVER_PACKAGE_DIR = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** Where a plugin package keeps the kit options its own test uses (also read by `plugin test`). */
export const CONFORMANCE_OPTIONS_FILE = 'test/conformance-options.mjs';

/** The built entry of the package in `dir`: `exports['.']` (import/default), else `main`, else index.js. */
function packageEntry(dir: string): string {
  const pkgFile = path.join(dir, 'package.json');
  if (!existsSync(pkgFile)) throw new EchoPanelError('PLUGIN_NOT_INSTALLED', `no package.json in ${dir}: give the directory of a plugin package`);
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { main?: string; exports?: unknown };
  let dot = pkg.exports;
  if (dot && typeof dot === 'object' && '.' in dot) dot = (dot as Record<string, unknown>)['.'];
  if (dot && typeof dot === 'object') dot = (dot as Record<string, unknown>).import ?? (dot as Record<string, unknown>).default;
  const entry = path.resolve(dir, typeof dot === 'string' ? dot : (pkg.main ?? 'index.js'));
  if (!existsSync(entry)) {
    throw new EchoPanelError('PLUGIN_LOAD_FAILED', `${entry} (the package's entry) does not exist: build the plugin first (npm run build)`);
  }
  return entry;
}

async function importDefault(file: string, what: string): Promise<unknown> {
  try {
    return ((await import(pathToFileURL(file).href)) as { default?: unknown }).default;
  } catch (err) {
    throw new EchoPanelError('PLUGIN_LOAD_FAILED', `${what} ${file} failed while loading: ${errorMessage(err)}`, { cause: err });
  }
}

function json(flag: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new EchoPanelError('INVALID_CONFIG', `${flag}: not JSON (${errorMessage(err)})`);
  }
}

function skipOption(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const m = /^([a-z-]+)=(.+)$/.exec(value);
  if (!m || !(CONFORMANCE_CHECKS as readonly string[]).includes(m[1])) {
    throw new EchoPanelError('INVALID_CONFIG', `--skip: '${value}' is not CHECK=REASON with CHECK one of ${CONFORMANCE_CHECKS.join(', ')}`);
  }
  return { ...previous, [m[1]]: m[2] };
}

interface TestFlags {
  readonly options?: string;
  readonly pluginConfig?: string;
  readonly unavailableConfig?: string;
  readonly werBound?: string;
  readonly skip?: Record<string, string>;
  readonly json?: boolean;
}

/** The kit options: the package's options file, then the flags over it. */
async function kitOptions(dir: string, flags: TestFlags): Promise<ConformanceOptions> {
  const file = flags.options ? path.resolve(flags.options) : path.join(dir, CONFORMANCE_OPTIONS_FILE);
  let fromFile: ConformanceOptions = {};
  if (flags.options || existsSync(file)) {
    if (!existsSync(file)) throw new EchoPanelError('INVALID_CONFIG', `--options: ${file} does not exist`);
    const exported = await importDefault(file, 'the kit options file');
    fromFile = (typeof exported === 'function' ? await (exported as () => unknown)() : exported) ?? {};
  }
  const werBound = flags.werBound === undefined ? undefined : Number(flags.werBound);
  if (werBound !== undefined && !(werBound > 0 && werBound <= 1)) throw new EchoPanelError('INVALID_CONFIG', `--wer-bound: '${flags.werBound}' is not a number in (0, 1]`);
  const pythonPath = findProjectPython(dir, process.env, [SERVER_PACKAGE_DIR]);
  return {
    ...fromFile,
    ...(flags.pluginConfig !== undefined ? { config: json('--plugin-config', flags.pluginConfig) } : {}),
    ...(flags.unavailableConfig !== undefined ? { unavailableConfig: json('--unavailable-config', flags.unavailableConfig) } : {}),
    ...(werBound !== undefined ? { werBound } : {}),
    skip: { ...fromFile.skip, ...(flags.skip as Partial<Record<ConformanceCheckId, string>> | undefined) },
    context: {
      logger: cliLogger(),
      configDir: dir,
      pythonPath,
      models: createModelResolver({ modelDir: process.env.ECHOPANEL_MODEL_DIR, pythonPath, allowDownload: false, logger: cliLogger() }),
      ...fromFile.context,
    },
  };
}

/** `echopanel plugin test <dir>` (the conformance kit) and `echopanel plugin new <name>` (the generator). */
export function registerPluginCommand(program: Command): void {
  const plugin = program.command('plugin').description('write and check provider plugins');

  plugin
    .command('test')
    .description('run the conformance kit against the provider plugin package in <dir> (built JS); exits 1 when a check fails')
    .argument('<dir>', 'the plugin package directory')
    .option('--options <file>', `module whose default export is the kit options (default: <dir>/${CONFORMANCE_OPTIONS_FILE} if present)`)
    .option('--plugin-config <json>', "the plugin's config slice (providers.<name>) as JSON")
    .option('--unavailable-config <json>', 'a config slice that makes the provider unavailable, as JSON')
    .option('--wer-bound <fraction>', 'pooled WER bound (default 0.35)')
    .option('--skip <check=reason>', 'a check the provider does not claim to pass, with the reason (repeatable)', skipOption)
    .option('--json', 'print the report as JSON')
    .action(async (dirArg: string, flags: TestFlags) => {
      const dir = path.resolve(dirArg);
      const entry = packageEntry(dir);
      const options = await kitOptions(dir, flags);
      const candidate = await importDefault(entry, 'the plugin');
      const report = await runProviderConformance(candidate as ProviderPlugin, options, (r) => {
        if (!flags.json) process.stdout.write(formatCheckResult(r) + '\n');
      });
      const failed = report.results.filter((r) => r.status === 'failed');
      const skipped = report.results.filter((r) => r.status === 'skipped').length;
      if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else process.stdout.write(`${report.plugin}: ${report.results.length - failed.length - skipped} passed, ${failed.length} failed, ${skipped} skipped (corpus: ${report.corpus})\n`);
      if (failed.length > 0) {
        throw new EchoPanelError('CONFORMANCE_FAILED', `${report.plugin} failed ${failed.length} of ${report.results.length} conformance checks: ${failed.map((r) => r.id).join(', ')}`, {
          details: { failed: failed.map((r) => r.id) },
        });
      }
    });

  plugin
    .command('new')
    .description('scaffold a provider plugin package that passes the conformance kit and `npm test` out of the box')
    .argument('<name>', 'npm package name, e.g. echopanel-provider-acme or @acme/echopanel-provider-acme')
    .option('--dir <dir>', 'where to write it (default: ./<name without scope>)')
    .action(async (name: string, flags: { dir?: string }) => {
      const r = scaffoldProviderPackage({ name, dir: flags.dir ?? path.resolve(name.replace(/^@[^/]+\//, '')) });
      process.stdout.write(
        `wrote ${r.packageName} (provider '${r.providerName}') in ${r.dir}: ${r.files.join(', ')}\n` +
          `@echopanel packages: ${r.linkedBy === 'workspace' ? 'from this workspace (run npm install at its root)' : 'file: links to this EchoPanel installation'}\n` +
          `next: cd ${path.relative(process.cwd(), r.dir) || '.'} && npm install && npm test\n`,
      );
    });
}
