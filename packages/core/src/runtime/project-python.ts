import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The project's Python: `ECHOPANEL_PYTHON`, else the nearest `.venv/bin/python` from `startDir` up (the setup
 * creates it at the repository root), else the nearest from each of `alsoFrom` up (e.g. the installed EchoPanel,
 * for a config outside its tree), else `python3` from PATH.
 */
export function findProjectPython(
  startDir: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  alsoFrom: readonly string[] = [],
): string {
  if (env.ECHOPANEL_PYTHON) return env.ECHOPANEL_PYTHON;
  for (const start of [startDir, ...alsoFrom]) {
    const found = nearestVenvPython(start);
    if (found) return found;
  }
  return 'python3';
}

function nearestVenvPython(startDir: string): string | undefined {
  let dir = path.resolve(startDir);
  for (;;) {
    for (const candidate of [path.join(dir, '.venv', 'bin', 'python'), path.join(dir, '.venv', 'Scripts', 'python.exe')]) {
      if (existsSync(candidate)) return candidate;
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
