import path from 'node:path';
import { cosmiconfig, type Loader } from 'cosmiconfig';
import { EchoPanelError, errorMessage } from '@echopanel/plugin-api';
import { deepFreeze } from './deep-freeze.js';
import { applyEnvOverrides } from './env-overrides.js';
import { formatZodIssues } from './format-zod-issues.js';
import { configSchema, type ResolvedConfig } from './schema.js';
import { loadTypeScriptConfig } from './typescript-loader.js';

export interface LoadConfigOptions {
  /** Explicit config file (`--config`); skips the search. */
  readonly configFile?: string;
  /** Where the search starts (default: process.cwd()); it walks up to the filesystem root. */
  readonly cwd?: string;
  /** Environment for overrides (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Use this raw config instead of searching (tests, embedding). */
  readonly inline?: unknown;
}

export interface LoadedConfig {
  readonly config: ResolvedConfig;
  /** The file it came from; undefined when defaults or inline config were used. */
  readonly filepath?: string;
  /** The config file's directory (or cwd): plugin packages and relative paths resolve from here. */
  readonly configDir: string;
}

export const CONFIG_SEARCH_PLACES = [
  'package.json',
  'echopanel.config.ts',
  'echopanel.config.mts',
  'echopanel.config.js',
  'echopanel.config.mjs',
  'echopanel.config.json',
] as const;

const tsLoader: Loader = (filepath) => loadTypeScriptConfig(filepath);

/**
 * Finds, loads and validates the config: `--config FILE`, else the first of {@link CONFIG_SEARCH_PLACES} from
 * `cwd` up (a package.json counts only with an `"echopanel"` key), else defaults. Environment overrides apply
 * on top. Returns the defaulted config, deep-frozen.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  let raw: unknown = {};
  let filepath: string | undefined;
  if (options.inline !== undefined) {
    raw = options.inline;
  } else {
    const explorer = cosmiconfig('echopanel', {
      searchPlaces: [...CONFIG_SEARCH_PLACES],
      searchStrategy: 'global',
      loaders: { '.ts': tsLoader, '.mts': tsLoader },
      cache: false,
    });
    try {
      const found = options.configFile
        ? await explorer.load(path.resolve(cwd, options.configFile))
        : await explorer.search(cwd);
      if (found && !found.isEmpty) {
        raw = found.config;
        filepath = found.filepath;
      } else if (found) {
        filepath = found.filepath;
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (options.configFile && code === 'ENOENT') {
        throw new EchoPanelError('CONFIG_NOT_FOUND', `config file ${options.configFile} does not exist`, { cause: err });
      }
      throw new EchoPanelError('INVALID_CONFIG', `could not load config${options.configFile ? ` ${options.configFile}` : ''}: ${errorMessage(err)}`, { cause: err });
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new EchoPanelError('INVALID_CONFIG', `${filepath ?? 'config'}: the default export must be an object (use defineConfig({...}))`);
  }
  const parsed = configSchema.safeParse(applyEnvOverrides(raw as Record<string, unknown>, env));
  if (!parsed.success) {
    throw new EchoPanelError('INVALID_CONFIG', `${filepath ? path.basename(filepath) + ': ' : ''}${formatZodIssues(parsed.error, undefined, configSchema)}`, {
      details: { file: filepath, issues: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) },
    });
  }
  return {
    config: deepFreeze(parsed.data),
    ...(filepath ? { filepath } : {}),
    configDir: filepath ? path.dirname(filepath) : cwd,
  };
}
