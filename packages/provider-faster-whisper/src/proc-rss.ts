import { readFileSync } from 'node:fs';

/** Resident set size of a process from `/proc/<pid>/status` (VmRSS); 0 where there is no procfs or no process. */
export function processRssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
