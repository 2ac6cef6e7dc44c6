import { errorMessage, silentLogger, systemClock, EchoPanelError, type PluginContext, type ProviderPlugin } from '@echopanel/plugin-api';
import { CHECKS, type CheckContext } from './checks.js';
import { resolveCorpus } from './corpus.js';
import { CheckFailure, CheckSkipped, describeError, within } from './streams.js';
import type { ConformanceCheckId, ConformanceCheckResult, ConformanceOptions, ConformanceReport, ConformanceState } from './types.js';

/**
 * Tiny models on espeak-ng speech streamed through fixed chunks (whose cuts split words): measured 20 %
 * (faster-whisper tiny.en, 4 s chunks) and 16 % (whisper.cpp tiny.en) over the 50 words; the bound is twice that
 * and more. A provider's own test can pass a tighter one.
 */
const DEFAULT_WER_BOUND = 0.45;
const DEFAULT_PROMPT_MS = 10_000;
const DEFAULT_CHECK_TIMEOUT_MS = 180_000;

/** What `create` gets when the options give no context: nothing outside the process is assumed. */
function defaultContext(): PluginContext {
  return {
    logger: silentLogger,
    configDir: process.cwd(),
    pythonPath: process.env.ECHOPANEL_PYTHON ?? 'python3',
    models: {
      find: async () => undefined,
      resolve: async (ref) => {
        throw new EchoPanelError('MODEL_NOT_FOUND', `the conformance kit has no model store to resolve ${JSON.stringify(ref)}: pass options.context.models`);
      },
    },
    clock: systemClock,
    env: process.env,
  };
}

/** A conformance run whose checks are taken one at a time (by a test runner) or all at once. */
export interface ConformanceRun {
  readonly checks: readonly { readonly id: ConformanceCheckId; readonly title: string }[];
  /** Runs one check (in the order of {@link checks}: later checks use what earlier ones set up). */
  run(id: ConformanceCheckId): Promise<ConformanceCheckResult>;
  /** Unloads the provider the checks shared. */
  close(): Promise<void>;
  readonly checkTimeoutMs: number;
  /** The corpus's name once prepared. */
  corpusName(): string;
  /** The results so far, in check order. */
  results(): readonly ConformanceCheckResult[];
}

/** Prepares a run of the conformance checks against `plugin`; see {@link runProviderConformance}. */
export function createConformanceRun(plugin: ProviderPlugin, options: ConformanceOptions = {}): ConformanceRun {
  const state: ConformanceState = { speechRuns: [] };
  const results: ConformanceCheckResult[] = [];
  const context: PluginContext = { ...defaultContext(), ...options.context };
  const checkTimeoutMs = options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  let corpusReady: Promise<void> | undefined;
  const prepareCorpus = () =>
    (corpusReady ??= resolveCorpus(options.corpus).then(
      (corpus) => void (state.corpus = corpus),
      (err: unknown) => void (state.corpusError = `the corpus could not be made: ${errorMessage(err)}`),
    ));
  const c: CheckContext = {
    plugin,
    options,
    state,
    werBound: options.werBound ?? DEFAULT_WER_BOUND,
    promptMs: options.promptMs ?? DEFAULT_PROMPT_MS,
    async create(config) {
      const parsed = plugin.configSchema.safeParse(config);
      if (!parsed.success) throw new CheckFailure(`configSchema rejects ${JSON.stringify(config)}: ${parsed.error.message}`);
      try {
        return await plugin.create(parsed.data, context);
      } catch (err) {
        throw new CheckFailure(`create() threw ${describeError(err)}`);
      }
    },
  };

  async function run(id: ConformanceCheckId): Promise<ConformanceCheckResult> {
    const r = await runCheck(id);
    results.push(r);
    return r;
  }

  async function runCheck(id: ConformanceCheckId): Promise<ConformanceCheckResult> {
    const check = CHECKS.find((x) => x.id === id);
    if (!check) throw new Error(`no conformance check '${id}'`);
    const started = performance.now();
    const result = (status: ConformanceCheckResult['status'], detail: string): ConformanceCheckResult => ({
      id,
      title: check.title,
      status,
      detail,
      durationMs: Math.round(performance.now() - started),
    });
    const declared = options.skip?.[id];
    if (declared) return result('skipped', `declared by the provider's kit options: ${declared}`);
    if (id !== 'plugin-shape' && state.invalidPlugin) return result('skipped', `not run: ${state.blocked}`);
    if (check.needs && !state.provider) return result('skipped', `not run: ${state.blocked ?? 'no provider was created'}`);
    if (check.needs === 'engine' && state.blocked) return result('skipped', `not run: ${state.blocked}`);
    try {
      await prepareCorpus();
      const detail = await within(check.run(c), checkTimeoutMs, `check '${id}'`);
      return result('passed', detail);
    } catch (err) {
      if (err instanceof CheckSkipped) return result('skipped', err.message);
      const detail = err instanceof CheckFailure ? err.message : `threw ${describeError(err)}`;
      if (id === 'create') state.blocked = 'create() failed';
      if (id === 'availability') state.blocked = 'the provider is not available here (see availability)';
      if (id === 'plugin-shape') {
        state.invalidPlugin = true;
        state.blocked = 'the plugin is not a valid provider plugin (see plugin-shape)';
      }
      return result('failed', detail);
    }
  }

  return {
    checks: CHECKS.map(({ id, title }) => ({ id, title })),
    run,
    checkTimeoutMs,
    corpusName: () => state.corpus?.name ?? 'none',
    results: () => results,
    async close() {
      const p = state.provider;
      state.provider = undefined;
      if (p) await (p.dispose ? p.dispose() : p.unload()).catch(() => undefined);
    },
  };
}

/**
 * Runs every conformance check against a provider plugin, sharing one created provider across them, and returns
 * each check's named result. Never throws for what the plugin does; a check that cannot apply is skipped with its
 * reason, never silently.
 */
export async function runProviderConformance(
  plugin: ProviderPlugin,
  options: ConformanceOptions = {},
  onResult?: (result: ConformanceCheckResult) => void,
): Promise<ConformanceReport> {
  const run = createConformanceRun(plugin, options);
  try {
    for (const { id } of run.checks) {
      const result = await run.run(id);
      onResult?.(result);
    }
  } finally {
    await run.close();
  }
  return conformanceReport(plugin, run);
}

/** The report of a run's results so far. */
export function conformanceReport(plugin: ProviderPlugin, run: ConformanceRun): ConformanceReport {
  const results = run.results();
  return {
    plugin: typeof plugin?.name === 'string' ? plugin.name : '(unnamed)',
    corpus: run.corpusName(),
    results,
    passed: results.every((r) => r.status !== 'failed'),
  };
}
