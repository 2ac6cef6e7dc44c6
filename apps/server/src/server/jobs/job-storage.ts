import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/** Job audio on disk (`jobs.storageDir`): one directory per job holding the upload and, while it runs, the decoded PCM. */
export class JobStorage {
  constructor(readonly dir: string) {}

  jobDir(id: string): string {
    return path.join(this.dir, id);
  }

  uploadPath(id: string): string {
    return path.join(this.jobDir(id), 'upload');
  }

  async create(id: string): Promise<string> {
    const dir = this.jobDir(id);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async remove(id: string): Promise<void> {
    await rm(this.jobDir(id), { recursive: true, force: true });
  }

  /**
   * Removes the audio of jobs that are gone or finished more than `retainMs` ago. `finishedAt` says when a job
   * finished (undefined: still queued or running, kept); `null`: the queue no longer knows it.
   */
  async sweep(retainMs: number, finishedAt: (id: string) => Promise<number | undefined | null>): Promise<number> {
    const ids = await readdir(this.dir).catch(() => [] as string[]);
    let removed = 0;
    const now = Date.now();
    for (const id of ids) {
      const done = await finishedAt(id);
      // An unknown directory younger than a minute may be an upload still being submitted.
      const old = done === null ? now - (await stat(this.jobDir(id)).then((s) => s.mtimeMs, () => 0)) > 60_000 : done !== undefined && now - done > retainMs;
      if (old) {
        await this.remove(id);
        removed++;
      }
    }
    return removed;
  }
}
