import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { EchoPanelError } from '@echopanel/plugin-api';

export interface FileLock {
  readonly path: string;
  release(): Promise<void>;
}

export interface LockOptions {
  /** Give up after this long (default 10 min: a large model download may hold the lock for minutes). */
  readonly waitMs?: number;
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
  /** Called once when another holder makes us wait. */
  readonly onWait?: (holder: string) => void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock between processes (and between calls in one process): a file created with O_EXCL holding
 * the owner's pid. A lock whose owner process is gone is stale and taken over.
 */
export async function acquireFileLock(lockPath: string, options: LockOptions = {}): Promise<FileLock> {
  const waitMs = options.waitMs ?? 10 * 60_000;
  const pollMs = options.pollMs ?? 100;
  const deadline = Date.now() + waitMs;
  await mkdir(path.dirname(lockPath), { recursive: true });
  let notified = false;
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      let released = false;
      return {
        path: lockPath,
        release: async () => {
          if (released) return;
          released = true;
          await rm(lockPath, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = (await readFile(lockPath, 'utf8').catch(() => '')).trim();
    const pid = Number(holder);
    if (holder !== '' && Number.isInteger(pid) && !pidAlive(pid)) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (!notified) {
      notified = true;
      options.onWait?.(holder);
    }
    if (options.signal?.aborted) throw new EchoPanelError('ABORTED', `gave up waiting for lock ${lockPath}`);
    if (Date.now() > deadline) {
      throw new EchoPanelError('LOCK_TIMEOUT', `${lockPath} is held by process ${holder || '?'} for more than ${waitMs} ms; ` +
        'if no other echopanel is running, delete the lock file', { details: { lockPath, holder } });
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
