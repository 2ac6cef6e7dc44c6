import type { Command } from 'commander';
import { autoSelect, type AutoSelection, type EchoPanelRuntime, type MachineProfile, type Recommendation } from '@echopanel/core';

const GiB = 1024 ** 3;

/**
 * `echopanel doctor`: the machine profile, which providers and models are usable here, and the setup
 * capability detection recommends (with its reasons and fallback). `--json` prints the same as JSON.
 * Exit code 1 when no provider is usable.
 */
export function registerDoctorCommand(
  program: Command,
  deps: { loadRuntime: (opts: { config?: string }) => Promise<EchoPanelRuntime> },
): void {
  program
    .command('doctor')
    .description('show this machine, the usable providers and models, and the recommended setup')
    .option('--config <file>', 'config file')
    .option('--json', 'print JSON')
    .action(async (opts: { config?: string; json?: boolean }) => {
      const runtime = await deps.loadRuntime({ config: opts.config });
      let selection: AutoSelection;
      try {
        selection = await autoSelect(runtime);
      } finally {
        await runtime.dispose();
      }
      const configured = { provider: runtime.config.asr.provider, fallback: runtime.config.asr.fallback ?? null };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...selection, configured }, null, 2)}\n`);
      } else {
        process.stdout.write(formatDoctor(selection, configured));
      }
      if (!selection.recommendation) process.exitCode = 1;
    });
}

/** The human-readable report. */
export function formatDoctor(s: AutoSelection, configured: { provider: string; fallback: string | null }): string {
  const lines: string[] = [];
  const p: MachineProfile = s.profile;
  lines.push('Machine');
  lines.push(`  system     ${p.platform} ${p.arch}${p.appleSilicon ? ' (Apple Silicon)' : ''}`);
  lines.push(`  cpu        ${p.cpuCores} core(s)${p.cpuModel ? `, ${p.cpuModel}` : ''}`);
  lines.push(`  memory     ${(p.totalMemoryBytes / GiB).toFixed(1)} GiB total, ${(p.freeMemoryBytes / GiB).toFixed(1)} GiB available (${p.memorySource === 'meminfo' ? '/proc/meminfo' : 'OS'})`);
  lines.push(`  metal      ${p.metal ? 'yes' : 'no'}`);
  lines.push(`  cuda       ${p.cuda.available ? 'yes' : 'no'} (${p.cuda.detail})`);
  lines.push('');
  lines.push('Providers');
  const width = Math.max(8, ...s.providers.map((x) => x.name.length));
  for (const x of s.providers) {
    const models = x.models ? `  models: ${x.models.length ? x.models.join(', ') : 'none present'}` : '';
    lines.push(`  ${x.name.padEnd(width)}  ${x.available ? 'available' : `unavailable — ${x.reason ?? 'no reason given'}`}${models}`);
  }
  if (!s.providers.length) lines.push('  (none registered)');
  lines.push('');
  if (s.recommendation) {
    const r: Recommendation = s.recommendation;
    lines.push(`Recommendation (tier ${r.tier})`);
    lines.push(`  provider   ${r.provider}`);
    lines.push(`  model      ${r.model ?? "the provider's configured model"}`);
    lines.push(`  device     ${r.device} (${r.computeType})`);
    lines.push(`  chunks     ${r.chunkSeconds} s`);
    lines.push(`  vad        ${r.vad ? 'on' : 'off'}`);
    lines.push(`  fallback   ${r.fallback ? `${r.fallback.provider}${r.fallback.model ? ` ${r.fallback.model}` : ''} on ${r.fallback.device}` : 'none'}`);
    lines.push('');
    lines.push('Why');
    for (const reason of r.reasons) lines.push(`  - ${reason}`);
    for (const rej of r.rejected) lines.push(`  - skipped ${rej.provider}${rej.model ? ` ${rej.model}` : ''}: ${rej.reason}`);
  } else {
    lines.push(`Recommendation: none — ${s.error?.code}: ${s.error?.message}`);
  }
  lines.push('');
  lines.push(
    configured.provider === 'auto'
      ? 'Config: asr.provider is auto, so this recommendation is used.'
      : `Config: asr.provider is '${configured.provider}' (config or ECHOPANEL_ASR_PROVIDER), which overrides the recommendation.`,
  );
  if (configured.fallback) lines.push(`Config: asr.fallback is '${configured.fallback}'.`);
  return `${lines.join('\n')}\n`;
}
