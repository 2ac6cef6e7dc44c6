import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { createRuntime } from '@echopanel/core';
import { registerDoctorCommand } from './doctor.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');

async function doctor(args: string[], inline: unknown): Promise<{ out: string; exitCode: number | undefined }> {
  const program = new Command('echopanel').exitOverride();
  // The workspace's real plugins, resolved from the repo root.
  registerDoctorCommand(program, { loadRuntime: () => createRuntime({ cwd: repoRoot, inline }) });
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string) => {
    out += chunk;
    return true;
  };
  const before = process.exitCode;
  try {
    await program.parseAsync(['doctor', ...args], { from: 'user' });
  } finally {
    process.stdout.write = write;
  }
  const exitCode = process.exitCode as number | undefined;
  process.exitCode = before;
  return { out, exitCode };
}

describe('echopanel doctor', () => {
  it('--json: profile, providers, and a recommendation that only names an available provider and a present model', async () => {
    const { out, exitCode } = await doctor(['--json'], { asr: { provider: 'auto' } });
    const report = JSON.parse(out);
    expect(report.profile.cpuCores).toBeGreaterThanOrEqual(1);
    expect(report.profile.totalMemoryBytes).toBeGreaterThan(0);
    expect(report.configured).toEqual({ provider: 'auto', fallback: null });
    const names = report.providers.map((p: { name: string }) => p.name);
    expect(names).toEqual(expect.arrayContaining(['faster-whisper', 'whisper-cpp', 'voxtral']));
    if (report.recommendation) {
      expect(exitCode).toBeUndefined();
      const chosen = report.providers.find((p: { name: string }) => p.name === report.recommendation.provider);
      expect(chosen.available).toBe(true);
      if (chosen.models) expect(chosen.models).toContain(report.recommendation.model);
      expect(report.recommendation.reasons.length).toBeGreaterThan(2);
      const usable = report.providers.filter((p: { available: boolean; models?: string[] }) => p.available && (!p.models || p.models.length > 0));
      if (usable.length > 1) expect(report.recommendation.fallback.provider).not.toBe(report.recommendation.provider);
    } else {
      expect(exitCode).toBe(1);
      expect(report.error.code).toBe('PROVIDER_UNAVAILABLE');
    }
  });

  it('prints the machine, providers, recommendation with reasons, and says an explicit provider overrides it', async () => {
    const { out } = await doctor([], { asr: { provider: 'whisper-cpp', fallback: 'faster-whisper' } });
    expect(out).toMatch(/^Machine\n {2}system {5}\S+ \S+/);
    expect(out).toMatch(/\nProviders\n {2}faster-whisper +(available|unavailable — )/);
    expect(out).toMatch(/\n(Recommendation \(tier [a-z_]+-(cpu|metal|cuda)\)\n {2}provider {3}\S+|Recommendation: none — PROVIDER_UNAVAILABLE)/);
    expect(out).toContain("Config: asr.provider is 'whisper-cpp' (config or ECHOPANEL_ASR_PROVIDER), which overrides the recommendation.");
    expect(out).toContain("Config: asr.fallback is 'faster-whisper'.");
  });
});
