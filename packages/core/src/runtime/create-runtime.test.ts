import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TOKENS } from '../di/tokens.js';
import { echoProviderSource, linkPeer, writePluginPackage } from '@echopanel/plugin-testkit';
import { createRuntime } from './create-runtime.js';
import { findProjectPython } from './project-python.js';

function project(config: object): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'echopanel-runtime-'));
  linkPeer(dir, '@echopanel/core');
  writeFileSync(path.join(dir, 'echopanel.config.json'), JSON.stringify(config));
  return dir;
}

describe('createRuntime', () => {
  it('wires the container and registers a third-party plugin with its config slice injected', async () => {
    const dir = project({ plugins: { 'acme-echo': '@acme/echo' }, providers: { 'acme-echo': { prefix: 'X' } } });
    writePluginPackage(dir, { name: '@acme/echo', version: '0.9.0', source: echoProviderSource() });
    const rt = await createRuntime({ cwd: dir, env: {} });
    expect(rt.configDir).toBe(dir);
    expect(rt.container.resolve(TOKENS.ProviderRegistry)).toBe(rt.providers);
    expect(rt.container.resolve(TOKENS.Config)).toBe(rt.config);
    expect(rt.container.resolve(TOKENS.ModelResolver)).toBe(rt.models);
    expect(rt.providers.get('acme-echo').origin).toMatchObject({ packageName: '@acme/echo', version: '0.9.0', specifier: '@acme/echo' });
    const provider = (await rt.providers.create('acme-echo')) as unknown as { config: { prefix: string } };
    expect(provider.config).toEqual({ prefix: 'X' });
    await rt.dispose();
  });

  it('isolates broken plugins: every failure is reported, one line each, and the rest still register', async () => {
    const dir = project({ plugins: { 'acme-echo': '@acme/echo', broken: '@acme/broken' } });
    writePluginPackage(dir, { name: '@acme/echo', source: echoProviderSource() });
    writePluginPackage(dir, { name: '@acme/broken', source: 'throw new Error("boom at import");\n' });
    const rt = await createRuntime({ cwd: dir, env: {} });
    expect(rt.providers.has('acme-echo')).toBe(true);
    const report = rt.failureReport();
    // First-party packages are not installed in this project (jest's resolver maps the ones the suite maps to
    // sources; the CLI test checks the exact count in a real Node process), and one plugin throws at import.
    expect(report).toHaveLength(rt.failures.length);
    expect(report.filter((l) => l.includes('PLUGIN_NOT_INSTALLED')).length).toBeGreaterThanOrEqual(3);
    expect(report.find((l) => l.startsWith('broken: '))).toMatch(/PLUGIN_LOAD_FAILED: .*failed while loading: boom at import/);
    for (const line of report) expect(line).not.toContain('\n');
  });

  it("in-use loads only the plugins the config uses: a missing or broken plugin it does not use is not loaded", async () => {
    const config = {
      asr: { provider: 'acme-echo' },
      vad: { enabled: false, provider: 'silero' },
      plugins: { 'acme-echo': '@acme/echo', broken: '@acme/broken', silero: '@acme/not-installed-vad' },
    };
    const dir = project(config);
    writePluginPackage(dir, { name: '@acme/echo', source: echoProviderSource() });
    writePluginPackage(dir, { name: '@acme/broken', source: 'throw new Error("boom at import");\n' });
    const inUse = await createRuntime({ cwd: dir, env: {}, plugins: 'in-use' });
    expect(inUse.loadedMap).toEqual({ 'acme-echo': '@acme/echo' });
    expect(inUse.failures).toEqual([]);
    expect(inUse.providers.has('acme-echo')).toBe(true);
    await inUse.dispose();
    const all = await createRuntime({ cwd: dir, env: {} });
    expect(all.failures.map((f) => [f.mapName, f.error.code])).toEqual(
      expect.arrayContaining([
        ['broken', 'PLUGIN_LOAD_FAILED'],
        ['silero', 'PLUGIN_NOT_INSTALLED'],
      ]),
    );
    await all.dispose();
  });

  it("resolves plugins missing from the config's directory from hostDirs, the project's own copy first", async () => {
    const dir = project({ asr: { provider: 'acme-echo' }, vad: { enabled: false }, plugins: { 'acme-echo': '@acme/echo', extra: '@acme/extra' } });
    const host = mkdtempSync(path.join(os.tmpdir(), 'echopanel-host-'));
    writePluginPackage(dir, { name: '@acme/echo', version: '2.0.0', source: echoProviderSource() });
    writePluginPackage(host, { name: '@acme/echo', version: '1.0.0', source: echoProviderSource() });
    writePluginPackage(host, { name: '@acme/extra', version: '1.0.0', source: echoProviderSource({ name: 'extra' }) });
    const rt = await createRuntime({ cwd: dir, env: {}, hostDirs: [host] });
    expect(rt.providers.get('acme-echo').origin.version).toBe('2.0.0');
    expect(rt.providers.get('extra').origin.version).toBe('1.0.0');
    await rt.dispose();
  });

  it('refuses two plugins that claim one name', async () => {
    const dir = project({ plugins: { a: '@acme/a', b: '@acme/b' } });
    writePluginPackage(dir, { name: '@acme/a', source: echoProviderSource({ name: 'same' }) });
    writePluginPackage(dir, { name: '@acme/b', source: echoProviderSource({ name: 'same' }) });
    await expect(createRuntime({ cwd: dir, env: {} })).rejects.toMatchObject({ code: 'DUPLICATE_PROVIDER' });
  });
});

describe('findProjectPython', () => {
  it('prefers ECHOPANEL_PYTHON, then the nearest .venv, then python3', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'echopanel-py-'));
    expect(findProjectPython(dir, { ECHOPANEL_PYTHON: '/opt/py' })).toBe('/opt/py');
    expect(findProjectPython(dir, {})).toBe('python3');
    mkdirSync(path.join(dir, '.venv', 'bin'), { recursive: true });
    writeFileSync(path.join(dir, '.venv', 'bin', 'python'), '');
    mkdirSync(path.join(dir, 'sub'));
    expect(findProjectPython(path.join(dir, 'sub'), {})).toBe(path.join(dir, '.venv', 'bin', 'python'));
  });

  it("falls back to the host's .venv for a config outside the host's tree", () => {
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'echopanel-elsewhere-'));
    const host = mkdtempSync(path.join(os.tmpdir(), 'echopanel-host-'));
    expect(findProjectPython(elsewhere, {}, [host])).toBe('python3');
    mkdirSync(path.join(host, '.venv', 'bin'), { recursive: true });
    writeFileSync(path.join(host, '.venv', 'bin', 'python'), '');
    expect(findProjectPython(elsewhere, {}, [path.join(host, 'apps', 'server')])).toBe(path.join(host, '.venv', 'bin', 'python'));
    mkdirSync(path.join(elsewhere, '.venv', 'bin'), { recursive: true });
    writeFileSync(path.join(elsewhere, '.venv', 'bin', 'python'), '');
    expect(findProjectPython(elsewhere, {}, [host])).toBe(path.join(elsewhere, '.venv', 'bin', 'python'));
  });
});
