import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireFileLock } from './file-lock.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lock-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('acquireFileLock', () => {
  it('serializes holders: the second waits until the first releases', async () => {
    const file = path.join(tmp, 'a', 'x.lock');
    const order: string[] = [];
    const first = await acquireFileLock(file);
    expect(readFileSync(file, 'utf8').trim()).toBe(String(process.pid));
    let waited = '';
    const second = acquireFileLock(file, { pollMs: 10, onWait: (holder) => (waited = holder) }).then((l) => {
      order.push('second');
      return l;
    });
    await new Promise((r) => setTimeout(r, 80));
    order.push('first-release');
    await first.release();
    const l2 = await second;
    expect(order).toEqual(['first-release', 'second']);
    expect(waited).toBe(String(process.pid));
    await l2.release();
    expect(existsSync(file)).toBe(false);
  });

  it('takes over a lock whose owner process is gone', async () => {
    const file = path.join(tmp, 'stale.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(file, `${dead}\n`);
    const l = await acquireFileLock(file, { waitMs: 1000 });
    expect(readFileSync(file, 'utf8').trim()).toBe(String(process.pid));
    await l.release();
  });

  it('gives up with LOCK_TIMEOUT while a live process holds it', async () => {
    const file = path.join(tmp, 'held.lock');
    const held = await acquireFileLock(file);
    await expect(acquireFileLock(file, { waitMs: 100, pollMs: 10 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT', message: expect.stringContaining(String(process.pid)) });
    await held.release();
  });
});
