import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { detectMachineProfile, parseCpuinfo, parseMeminfo, parseNvidiaSmiList } from './machine-profile.js';
import type { CommandRunner } from './command-runner.js';

const fakeOs = (gib: number, cores: number) => ({
  totalmem: () => gib * 1024 ** 3,
  freemem: () => (gib / 2) * 1024 ** 3,
  cpus: () => Array.from({ length: cores }, () => ({ model: 'Test CPU @ 3.0GHz' })),
  availableParallelism: () => cores,
});

const MEMINFO = `MemTotal:       24576000 kB
MemFree:         1000000 kB
MemAvailable:   20000000 kB
Buffers:          100000 kB
`;

const CPUINFO = Array.from({ length: 4 }, (_, i) => `processor\t: ${i}\nmodel name\t: AMD EPYC 7B13\n`).join('\n');

const neverRun: CommandRunner = async () => {
  throw new Error('no command should run here');
};

describe('machine profile parsing', () => {
  it('reads /proc/meminfo, /proc/cpuinfo and nvidia-smi -L', () => {
    expect(parseMeminfo(MEMINFO)).toEqual({ total: 24576000 * 1024, available: 20000000 * 1024, free: 1000000 * 1024 });
    expect(parseCpuinfo(CPUINFO)).toEqual({ processors: 4, model: 'AMD EPYC 7B13' });
    expect(
      parseNvidiaSmiList('GPU 0: NVIDIA GeForce RTX 3090 (UUID: GPU-5e3c1a2b-0000)\nGPU 1: Tesla T4 (UUID: GPU-aaaa)\n\nNo devices were found\n'),
    ).toEqual([
      { index: 0, name: 'NVIDIA GeForce RTX 3090', uuid: 'GPU-5e3c1a2b-0000' },
      { index: 1, name: 'Tesla T4', uuid: 'GPU-aaaa' },
    ]);
  });
});

describe('detectMachineProfile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'echopanel-detect-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const script = (name: string, body: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };

  it('uses /proc/meminfo (MemAvailable) and /proc/cpuinfo on Linux', async () => {
    const p = await detectMachineProfile({
      platform: 'linux',
      arch: 'x64',
      os: fakeOs(8, 16),
      readMeminfo: async () => MEMINFO,
      readCpuinfo: async () => CPUINFO,
      readCgroup: async () => undefined,
      nvidiaSmi: path.join(dir, 'missing-nvidia-smi'),
    });
    expect(p.memorySource).toBe('meminfo');
    expect(p.totalMemoryBytes).toBe(24576000 * 1024);
    expect(p.freeMemoryBytes).toBe(20000000 * 1024);
    expect(p.cpuCores).toBe(4);
    expect(p.cpuModel).toBe('Test CPU @ 3.0GHz');
  });

  it('falls back to the OS figures when /proc/meminfo is missing', async () => {
    const p = await detectMachineProfile({
      platform: 'linux',
      arch: 'x64',
      os: fakeOs(24, 2),
      readMeminfo: async () => undefined,
      readCpuinfo: async () => undefined,
      readCgroup: async () => undefined,
      nvidiaSmi: path.join(dir, 'missing-nvidia-smi'),
    });
    expect(p.memorySource).toBe('os');
    expect(p.totalMemoryBytes).toBe(24 * 1024 ** 3);
    expect(p.cpuCores).toBe(2);
    expect(p.notes).toContain('/proc/meminfo unreadable; memory from the OS');
  });

  it('honours container limits (cgroup v2 and v1) over the host figures', async () => {
    const v2: Record<string, string> = { 'memory.max': `${4 * 1024 ** 3}\n`, 'cpu.max': '150000 100000\n' };
    const p = await detectMachineProfile({
      platform: 'linux',
      arch: 'x64',
      os: fakeOs(64, 16),
      readMeminfo: async () => undefined,
      readCpuinfo: async () => undefined,
      readCgroup: async (f) => v2[f],
      nvidiaSmi: path.join(dir, 'missing-nvidia-smi'),
    });
    expect(p).toMatchObject({ totalMemoryBytes: 4 * 1024 ** 3, memorySource: 'cgroup', cpuCores: 1 });
    expect(p.freeMemoryBytes).toBeLessThanOrEqual(4 * 1024 ** 3);
    expect(p.notes).toContain('container memory limit 4.0 GiB (host has 64.0 GiB)');
    const v1: Record<string, string> = {
      'memory/memory.limit_in_bytes': '9223372036854771712',
      'cpu/cpu.cfs_quota_us': '400000',
      'cpu/cpu.cfs_period_us': '100000',
    };
    const q = await detectMachineProfile({
      platform: 'linux',
      arch: 'x64',
      os: fakeOs(64, 16),
      readMeminfo: async () => undefined,
      readCpuinfo: async () => undefined,
      readCgroup: async (f) => v1[f],
      nvidiaSmi: path.join(dir, 'missing-nvidia-smi'),
    });
    expect(q).toMatchObject({ totalMemoryBytes: 64 * 1024 ** 3, memorySource: 'os', cpuCores: 4 });
    const unlimited = await detectMachineProfile({
      platform: 'linux',
      arch: 'x64',
      os: fakeOs(8, 2),
      readMeminfo: async () => undefined,
      readCpuinfo: async () => undefined,
      readCgroup: async (f) => ({ 'memory.max': 'max\n', 'cpu.max': 'max 100000\n' })[f],
      nvidiaSmi: path.join(dir, 'missing-nvidia-smi'),
    });
    expect(unlimited).toMatchObject({ totalMemoryBytes: 8 * 1024 ** 3, cpuCores: 2 });
  });

  it('treats a missing nvidia-smi as "no CUDA", not an error', async () => {
    const p = await detectMachineProfile({ platform: 'linux', arch: 'x64', os: fakeOs(16, 8), nvidiaSmi: path.join(dir, 'no-such-nvidia-smi') });
    expect(p.cuda).toEqual({ available: false, devices: [], detail: 'nvidia-smi not found (no NVIDIA driver)' });
  });

  it('kills a hanging nvidia-smi at the timeout', async () => {
    const pidFile = path.join(dir, 'hang.pid');
    const hang = script('hanging-nvidia-smi', `echo $$ > ${pidFile}\nexec sleep 30`);
    const t0 = Date.now();
    const p = await detectMachineProfile({ platform: 'linux', arch: 'x64', os: fakeOs(16, 8), nvidiaSmi: hang, cudaTimeoutMs: 300 });
    expect(Date.now() - t0).toBeLessThan(10000);
    expect(p.cuda).toEqual({ available: false, devices: [], detail: 'nvidia-smi did not answer within 300 ms (killed)' });
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  it('lists CUDA devices from a working nvidia-smi, and reports a failing one', async () => {
    const ok = script('nvidia-smi-ok', "echo 'GPU 0: NVIDIA A10G (UUID: GPU-1234)'");
    const p = await detectMachineProfile({ platform: 'linux', arch: 'x64', os: fakeOs(32, 8), nvidiaSmi: ok });
    expect(p.cuda).toEqual({ available: true, devices: [{ index: 0, name: 'NVIDIA A10G', uuid: 'GPU-1234' }], detail: '1 device(s): NVIDIA A10G' });
    const broken = script('nvidia-smi-broken', "echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.' >&2\nexit 9");
    const q = await detectMachineProfile({ platform: 'linux', arch: 'x64', os: fakeOs(32, 8), nvidiaSmi: broken });
    expect(q.cuda.available).toBe(false);
    expect(q.cuda.detail).toBe('nvidia-smi failed: NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.');
  });

  it('recognises Apple Silicon (Metal) on darwin arm64 without running nvidia-smi or reading /proc', async () => {
    const p = await detectMachineProfile({
      platform: 'darwin',
      arch: 'arm64',
      os: fakeOs(16, 10),
      runCommand: neverRun,
      readMeminfo: async () => {
        throw new Error('no /proc on macOS');
      },
    });
    expect(p).toMatchObject({ platform: 'darwin', arch: 'arm64', appleSilicon: true, metal: true, memorySource: 'os', cpuCores: 10 });
    expect(p.cuda).toEqual({ available: false, devices: [], detail: 'no CUDA on macOS' });
    const intel = await detectMachineProfile({ platform: 'darwin', arch: 'x64', os: fakeOs(16, 8), runCommand: neverRun });
    expect(intel).toMatchObject({ appleSilicon: false, metal: false });
  });

  it('detects this machine', async () => {
    const p = await detectMachineProfile();
    expect(p.totalMemoryBytes).toBeGreaterThan(0);
    expect(p.freeMemoryBytes).toBeLessThanOrEqual(p.totalMemoryBytes);
    expect(p.cpuCores).toBeGreaterThanOrEqual(1);
    expect(p.platform).toBe(process.platform);
  });
});
