import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { runCommand, type CommandRunner } from './command-runner.js';

export interface CudaDevice {
  readonly index: number;
  readonly name: string;
  readonly uuid?: string;
}

/** What this machine offers an ASR engine. */
export interface MachineProfile {
  readonly platform: string;
  readonly arch: string;
  readonly totalMemoryBytes: number;
  /** Memory available for new allocations (Linux MemAvailable; elsewhere the OS's free figure). */
  readonly freeMemoryBytes: number;
  readonly memorySource: 'meminfo' | 'os' | 'cgroup';
  readonly cpuCores: number;
  readonly cpuModel?: string;
  readonly appleSilicon: boolean;
  /** Metal usable for inference (Apple Silicon). */
  readonly metal: boolean;
  readonly cuda: { readonly available: boolean; readonly devices: readonly CudaDevice[]; readonly detail: string };
  /** How each fact was found, and what fell back. */
  readonly notes: readonly string[];
  readonly detectedAt: string;
}

/** The outside world detection reads; every part is injectable so each platform can be tested anywhere. */
export interface DetectOptions {
  /** `/proc/meminfo` text, or undefined where there is none (default: read it). */
  readonly readMeminfo?: () => Promise<string | undefined>;
  /** `/proc/cpuinfo` text, or undefined (default: read it). */
  readonly readCpuinfo?: () => Promise<string | undefined>;
  readonly platform?: string;
  readonly arch?: string;
  readonly os?: { totalmem(): number; freemem(): number; cpus(): readonly { model: string }[]; availableParallelism?(): number };
  /** Reads a file under /sys/fs/cgroup (container limits), undefined when absent (default: read it). */
  readonly readCgroup?: (file: string) => Promise<string | undefined>;
  readonly runCommand?: CommandRunner;
  /** The nvidia-smi executable (default `nvidia-smi` on PATH). */
  readonly nvidiaSmi?: string;
  /** Limit for `nvidia-smi -L` (default 5000 ms). */
  readonly cudaTimeoutMs?: number;
  readonly now?: () => Date;
}

const readOptional = (p: string) => () => readFile(p, 'utf8').catch(() => undefined);

/** Detects RAM, cores, OS/arch, Apple Silicon/Metal and CUDA devices. Never throws for a missing tool. */
export async function detectMachineProfile(options: DetectOptions = {}): Promise<MachineProfile> {
  const sys = options.os ?? os;
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  const notes: string[] = [];

  let totalMemoryBytes = sys.totalmem();
  let freeMemoryBytes = sys.freemem();
  let memorySource: MachineProfile['memorySource'] = 'os';
  const meminfo = platform === 'linux' ? await (options.readMeminfo ?? readOptional('/proc/meminfo'))() : undefined;
  const parsed = meminfo ? parseMeminfo(meminfo) : undefined;
  if (parsed?.total) {
    totalMemoryBytes = parsed.total;
    freeMemoryBytes = parsed.available ?? parsed.free ?? freeMemoryBytes;
    memorySource = 'meminfo';
    notes.push(parsed.available ? 'memory from /proc/meminfo (MemAvailable)' : 'memory from /proc/meminfo (no MemAvailable; MemFree used)');
  } else {
    notes.push(platform === 'linux' ? '/proc/meminfo unreadable; memory from the OS' : 'memory from the OS');
  }

  const limits = platform === 'linux' ? await cgroupLimits(options.readCgroup ?? ((f) => readOptional(`/sys/fs/cgroup/${f}`)())) : {};
  if (limits.memoryBytes !== undefined && limits.memoryBytes < totalMemoryBytes) {
    // A container sees the host's /proc/meminfo; its own limit is what a model must fit in.
    notes.push(`container memory limit ${(limits.memoryBytes / 1024 ** 3).toFixed(1)} GiB (host has ${(totalMemoryBytes / 1024 ** 3).toFixed(1)} GiB)`);
    totalMemoryBytes = limits.memoryBytes;
    freeMemoryBytes = Math.min(freeMemoryBytes, limits.memoryBytes);
    memorySource = 'cgroup';
  }

  const cpuinfo = platform === 'linux' ? await (options.readCpuinfo ?? readOptional('/proc/cpuinfo'))() : undefined;
  const cpus = sys.cpus();
  let cpuCores = sys.availableParallelism?.() ?? cpus.length;
  let cpuModel = cpus[0]?.model?.trim() || undefined;
  const fromInfo = cpuinfo ? parseCpuinfo(cpuinfo) : undefined;
  if (fromInfo && fromInfo.processors > 0) {
    // availableParallelism honours CPU affinity/cgroups; /proc/cpuinfo lists every CPU. Use the smaller.
    cpuCores = Math.min(cpuCores || fromInfo.processors, fromInfo.processors);
    cpuModel ??= fromInfo.model;
  }
  if (limits.cpus !== undefined && limits.cpus < cpuCores) {
    notes.push(`container CPU quota ${limits.cpus.toFixed(2)} of ${cpuCores} cores`);
    cpuCores = Math.max(1, Math.floor(limits.cpus));
  }
  if (!cpuCores || cpuCores < 1) {
    cpuCores = 1;
    notes.push('core count unknown; assuming 1');
  }

  const appleSilicon = platform === 'darwin' && arch === 'arm64';
  const metal = appleSilicon;
  if (platform === 'darwin' && !appleSilicon) notes.push('Intel Mac: Metal inference not used (too slow to help)');

  const cuda = platform === 'darwin' ? { available: false, devices: [], detail: 'no CUDA on macOS' } : await detectCuda(options);
  notes.push(`CUDA: ${cuda.detail}`);

  return {
    platform,
    arch,
    totalMemoryBytes,
    freeMemoryBytes,
    memorySource,
    cpuCores,
    ...(cpuModel ? { cpuModel } : {}),
    appleSilicon,
    metal,
    cuda,
    notes,
    detectedAt: (options.now ?? (() => new Date()))().toISOString(),
  };
}

async function detectCuda(options: DetectOptions): Promise<MachineProfile['cuda']> {
  const run = options.runCommand ?? runCommand;
  const timeoutMs = options.cudaTimeoutMs ?? 5000;
  const cmd = options.nvidiaSmi ?? 'nvidia-smi';
  const r = await run(cmd, ['-L'], { timeoutMs });
  if (r.spawnError) {
    return { available: false, devices: [], detail: r.spawnError === 'ENOENT' ? 'nvidia-smi not found (no NVIDIA driver)' : `nvidia-smi failed to start (${r.spawnError})` };
  }
  if (r.timedOut) return { available: false, devices: [], detail: `nvidia-smi did not answer within ${timeoutMs} ms (killed)` };
  if (r.exitCode !== 0) {
    const why = (r.stderr || r.stdout).trim().split('\n')[0] || `exit code ${r.exitCode}`;
    return { available: false, devices: [], detail: `nvidia-smi failed: ${why}` };
  }
  const devices = parseNvidiaSmiList(r.stdout);
  return devices.length
    ? { available: true, devices, detail: `${devices.length} device(s): ${devices.map((d) => d.name).join(', ')}` }
    : { available: false, devices: [], detail: 'nvidia-smi lists no GPUs' };
}

/** Bytes from /proc/meminfo's MemTotal / MemAvailable / MemFree (kB lines). */
export function parseMeminfo(text: string): { total?: number; available?: number; free?: number } {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  return { total: field('MemTotal'), available: field('MemAvailable'), free: field('MemFree') };
}

export function parseCpuinfo(text: string): { processors: number; model?: string } {
  const processors = (text.match(/^processor\s*:/gm) ?? []).length;
  const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim();
  return { processors, ...(model ? { model } : {}) };
}

/** Lines like `GPU 0: NVIDIA GeForce RTX 3090 (UUID: GPU-5e3c...)`. */
export function parseNvidiaSmiList(text: string): CudaDevice[] {
  const out: CudaDevice[] = [];
  for (const line of text.split('\n')) {
    const m = /^GPU\s+(\d+):\s*(.+?)(?:\s*\(UUID:\s*([^)]+)\))?\s*$/.exec(line.trim());
    if (m) out.push({ index: Number(m[1]), name: m[2].trim(), ...(m[3] ? { uuid: m[3].trim() } : {}) });
  }
  return out;
}

/** Container limits from cgroup v2 (`memory.max`, `cpu.max`) or v1 (`memory/memory.limit_in_bytes`, CFS quota). */
export async function cgroupLimits(read: (file: string) => Promise<string | undefined>): Promise<{ memoryBytes?: number; cpus?: number }> {
  const out: { memoryBytes?: number; cpus?: number } = {};
  const mem = (await read('memory.max'))?.trim() ?? (await read('memory/memory.limit_in_bytes'))?.trim();
  // v1 reports "no limit" as a huge number (about 2^63).
  if (mem && /^\d+$/.test(mem) && Number(mem) < 2 ** 60) out.memoryBytes = Number(mem);
  const cpuMax = (await read('cpu.max'))?.trim();
  if (cpuMax) {
    const [quota, period] = cpuMax.split(/\s+/);
    if (quota !== 'max' && Number(quota) > 0 && Number(period) > 0) out.cpus = Number(quota) / Number(period);
  } else {
    const quota = Number((await read('cpu/cpu.cfs_quota_us'))?.trim());
    const period = Number((await read('cpu/cpu.cfs_period_us'))?.trim());
    if (quota > 0 && period > 0) out.cpus = quota / period;
  }
  return out;
}
