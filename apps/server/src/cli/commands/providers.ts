import type { Command } from 'commander';
import { errorMessage, type Availability } from '@echopanel/core';
import { loadRuntime } from '../load-runtime.js';

export interface ProviderRow {
  readonly name: string;
  readonly kind: 'provider' | 'vad' | 'unknown';
  readonly package: string;
  readonly version: string | null;
  readonly available: boolean;
  readonly reason: string | null;
}

/** `echopanel providers`: every import-map entry with package, version and availability (or why not). */
export function registerProvidersCommand(program: Command): void {
  program
    .command('providers')
    .description('list providers in the import map with their availability')
    .option('--config <file>', 'config file')
    .option('--json', 'print JSON')
    .action(async (opts: { config?: string; json?: boolean }) => {
      const runtime = await loadRuntime({ config: opts.config, plugins: 'all' });
      const rows: ProviderRow[] = [];
      for (const [mapName, specifier] of Object.entries(runtime.importMap)) {
        const failure = runtime.failures.find((f) => f.mapName === mapName);
        if (failure) {
          rows.push({ name: mapName, kind: 'unknown', package: specifier, version: null, available: false, reason: `${failure.error.code}: ${failure.error.message}` });
          continue;
        }
        const registry = [runtime.providers, runtime.vads].find((r) => r.list().some((p) => p.origin.specifier === specifier));
        const entry = registry?.list().find((p) => p.origin.specifier === specifier);
        if (!registry || !entry) continue;
        const kind = registry === runtime.providers ? 'provider' : 'vad';
        let available = false;
        let reason: string | null;
        try {
          const instance = await registry.create(entry.name);
          const a: Availability = await instance.availability();
          available = a.available;
          reason = a.available ? null : `${a.code ?? 'PROVIDER_UNAVAILABLE'}: ${a.reason ?? 'unavailable'}${a.hint ? ` (${a.hint})` : ''}`;
        } catch (err) {
          reason = errorMessage(err);
        }
        rows.push({ name: entry.name, kind, package: entry.origin.packageName ?? specifier, version: entry.origin.version ?? entry.plugin.version ?? null, available, reason });
      }
      await runtime.dispose();
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows.map(({ name, package: pkg, version, available, reason, kind }) => ({ name, package: pkg, version, available, reason, kind })), null, 2) + '\n');
        return;
      }
      const width = Math.max(4, ...rows.map((r) => r.name.length));
      for (const r of rows) {
        process.stdout.write(
          `${r.name.padEnd(width)}  ${(r.available ? 'yes' : 'no').padEnd(3)}  ${r.package}${r.version ? `@${r.version}` : ''}${r.reason ? `  — ${r.reason}` : ''}\n`,
        );
      }
    });
}
