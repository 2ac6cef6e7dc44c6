import type { ProviderPlugin } from '@echopanel/plugin-api';
import { formatConformanceReport } from './format-report.js';
import { conformanceReport, createConformanceRun } from './run-conformance.js';
import type { ConformanceOptions } from './types.js';

/** The parts of a test runner the kit registers with (jest's and node:test's globals both fit). */
export interface TestRegistrar {
  describe(name: string, fn: () => void): unknown;
  it(name: string, fn: () => Promise<void>, timeoutMs?: number): unknown;
  after(fn: () => Promise<void>): unknown;
}

function globalRegistrar(): TestRegistrar {
  const g = globalThis as unknown as { describe?: TestRegistrar['describe']; it?: TestRegistrar['it']; afterAll?: TestRegistrar['after']; after?: TestRegistrar['after'] };
  const after = g.afterAll ?? g.after;
  if (!g.describe || !g.it || !after) {
    throw new Error('describeProviderConformance needs a test runner (jest globals, or pass { describe, it, after } from node:test)');
  }
  return { describe: g.describe, it: g.it, after };
}

/**
 * Registers the conformance checks as tests, one per check, in a `describe` block: under jest with its globals,
 * under node:test with `{ describe, it, after }` from `node:test`. A check that does not apply passes with the
 * reason in the report printed after the last check (never silently); a failing check fails its test with what went wrong.
 */
export function describeProviderConformance(plugin: ProviderPlugin, options: ConformanceOptions = {}, registrar: TestRegistrar = globalRegistrar()): void {
  const run = createConformanceRun(plugin, options);
  const name = typeof plugin?.name === 'string' ? plugin.name : '(unnamed plugin)';
  registrar.describe(`provider conformance: ${name}`, () => {
    registrar.after(async () => {
      await run.close();
      // What each check measured (WER, how long an abort took), in the test log.
      console.info(formatConformanceReport(conformanceReport(plugin, run)));
    });
    for (const check of run.checks) {
      const declared = options.skip?.[check.id];
      const title = `${check.id}: ${check.title}${declared ? ` — skipped: ${declared}` : ''}`;
      registrar.it(
        title,
        async () => {
          const r = await run.run(check.id);
          if (r.status === 'failed') throw new Error(`conformance check '${check.id}' failed: ${r.detail}`);
        },
        run.checkTimeoutMs + 10_000,
      );
    }
  });
}
