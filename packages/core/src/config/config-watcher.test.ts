import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSourceFiles } from './typescript-loader.js';
import { watchConfig, type ConfigWatcher } from './config-watcher.js';

function project(): { dir: string; config: string; a: string; b: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'echopanel-watch-'));
  const config = path.join(dir, 'echopanel.config.ts');
  const a = path.join(dir, 'settings', 'a.ts');
  const b = path.join(dir, 'settings', 'b.ts');
  writeFileSync(config, `import { port } from './settings/a';\nexport default { server: { port } };\n`);
  mkdirSync(path.dirname(a));
  writeFileSync(a, `import { base } from './b';\nexport const port = base + 1;\n`);
  writeFileSync(b, `export const base = 8000;\n`);
  return { dir, config, a, b };
}

let watcher: ConfigWatcher | undefined;
afterEach(() => watcher?.close());

/** `change`: the file of the first change burst; `calls`: every burst reported. */
function nextChange(config: string): Promise<{ watcher: ConfigWatcher; change: Promise<string>; calls: string[] }> {
  const calls: string[] = [];
  let fire: (f: string) => void = () => undefined;
  const change = new Promise<string>((r) => (fire = r));
  const onChange = (f: string) => {
    calls.push(f);
    fire(f);
  };
  return watchConfig(config, { debounceMs: 50, onChange }).then((w) => ({ watcher: w, change, calls }));
}

describe('configSourceFiles', () => {
  it('lists a TypeScript config and the files it imports, transitively', async () => {
    const p = project();
    expect((await configSourceFiles(p.config)).sort()).toEqual([p.config, p.a, p.b].sort());
  });

  it('is the file itself for a JSON config', async () => {
    expect(await configSourceFiles('/x/echopanel.config.json')).toEqual(['/x/echopanel.config.json']);
  });
});

describe('watchConfig', () => {
  it('fires once per burst for an imported file written in place', async () => {
    const p = project();
    const w = await nextChange(p.config);
    watcher = w.watcher;
    expect([...watcher.files()].sort()).toEqual([p.config, p.a, p.b].sort());
    writeFileSync(p.b, `export const base = 9000;\n`);
    writeFileSync(p.b, `export const base = 9001;\n`);
    expect(await w.change).toBe(p.b);
    await new Promise((r) => setTimeout(r, 300));
    expect(w.calls).toEqual([p.b]);
  });

  it('sees an editor that saves by renaming a new file over the config', async () => {
    const p = project();
    const w = await nextChange(p.config);
    watcher = w.watcher;
    const tmp = path.join(p.dir, '.echopanel.config.ts.swp');
    writeFileSync(tmp, `export default { server: { port: 1 } };\n`);
    renameSync(tmp, p.config);
    expect(await w.change).toBe(p.config);
    // The config no longer imports ./settings: after a refresh only the config is watched.
    await watcher.refresh();
    expect(watcher.files()).toEqual([p.config]);
  });
});
