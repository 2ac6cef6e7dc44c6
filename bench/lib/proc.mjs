// Resident memory and CPU time of a process and its descendants (Linux /proc), e.g. the server plus its Python
// worker.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 4 after the parenthesised command (which may contain spaces).
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The pid and every descendant. */
export function processTree(pid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = parentOf(Number(name));
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** RSS of the process tree rooted at pid: total and per process. */
export function treeRss(pid) {
  const parts = processTree(pid).map((p) => ({ pid: p, rss: rssBytes(p) }));
  return { total: parts.reduce((n, p) => n + p.rss, 0), root: parts[0]?.rss ?? 0, parts };
}

let clockTicks;
/** Clock ticks per second of /proc/<pid>/stat's times (`getconf CLK_TCK`, 100 on Linux). */
function ticksPerSecond() {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  return clockTicks;
}

/** utime + stime + cutime + cstime (fields 14–17), in ticks; 0 once the process is gone. */
function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state), so field n is fields[n - 3].
    return [11, 12, 13, 14].reduce((n, i) => n + Number(fields[i]), 0);
  } catch {
    return 0;
  }
}

/**
 * CPU seconds (user + system) used so far by the process tree rooted at pid. Children that exited and were
 * reaped are in their parent's cutime/cstime, live ones in their own times, so each second is counted once; a
 * child that exits between two readings without being reaped is missed.
 */
export function treeCpuSeconds(pid) {
  return processTree(pid).reduce((n, p) => n + cpuTicks(p), 0) / ticksPerSecond();
}

export const MiB = 1024 * 1024;
