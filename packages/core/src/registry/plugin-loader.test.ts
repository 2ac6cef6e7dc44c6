import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { echoProviderSource, writePluginPackage } from '@echopanel/plugin-testkit';
import { loadPlugin, loadPlugins } from './plugin-loader.js';
import { PLUGIN_BRAND } from '@echopanel/plugin-api';

// Projects live outside the workspace, so only their own node_modules can satisfy the plugin imports.
function project(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'echopanel-plugins-'));
}

describe('loadPlugin', () => {
  it('loads a third-party package by name from the config directory and checks its brand', async () => {
    const dir = project();
    writePluginPackage(dir, { name: '@acme/echopanel-provider-echo', version: '2.3.4', source: echoProviderSource() });
    const loaded = await loadPlugin('acme-echo', '@acme/echopanel-provider-echo', dir);
    expect(loaded).toMatchObject({ mapName: 'acme-echo', kind: 'provider', packageName: '@acme/echopanel-provider-echo', version: '2.3.4' });
    expect(loaded.plugin.name).toBe('acme-echo');
    expect(loaded.plugin[PLUGIN_BRAND]).toBe('provider');
  });

  it('loads a plugin by a path relative to the config directory', async () => {
    const dir = project();
    writePluginPackage(dir, { name: 'unused', source: 'export default 1;' }); // links the peers
    writeFileSync(path.join(dir, 'local-plugin.mjs'), echoProviderSource({ name: 'local' }));
    const loaded = await loadPlugin('local', './local-plugin.mjs', dir);
    expect(loaded.plugin.name).toBe('local');
  });

  it('says a missing package is not installed, with the install command', async () => {
    await expect(loadPlugin('acme-echo', '@acme/not-there', project())).rejects.toMatchObject({
      code: 'PLUGIN_NOT_INSTALLED',
      message: expect.stringContaining('npm install @acme/not-there'),
    });
    await expect(loadPlugin('local', './nope.mjs', project())).rejects.toMatchObject({ code: 'PLUGIN_NOT_INSTALLED' });
  });

  it("resolves from the config's directory first (a project's own copy wins), then from the host's", async () => {
    const own = project();
    const host = project();
    writePluginPackage(own, { name: 'shared-plugin', version: '2.0.0', source: echoProviderSource({ name: 'shared' }) });
    writePluginPackage(host, { name: 'shared-plugin', version: '1.0.0', source: echoProviderSource({ name: 'shared' }) });
    writePluginPackage(host, { name: 'bundled-plugin', version: '1.0.0', source: echoProviderSource({ name: 'bundled' }) });
    const shared = await loadPlugin('shared', 'shared-plugin', own, [host]);
    expect(shared).toMatchObject({ version: '2.0.0', resolvedPath: expect.stringContaining(own) });
    const bundled = await loadPlugin('bundled', 'bundled-plugin', own, [host]);
    expect(bundled).toMatchObject({ version: '1.0.0', resolvedPath: expect.stringContaining(host) });
    // Without the host directory the bundled plugin is not there: the host's copy is a fallback, not a default.
    await expect(loadPlugin('bundled', 'bundled-plugin', own)).rejects.toMatchObject({ code: 'PLUGIN_NOT_INSTALLED' });
    const missing = await loadPlugin('gone', '@acme/gone', own, [host]).catch((e) => e);
    expect(missing).toMatchObject({ code: 'PLUGIN_NOT_INSTALLED', message: expect.stringContaining(`looked from ${own} and ${host}`) });
    // A path is the config's own file: it never resolves from the host.
    writeFileSync(path.join(host, 'local.mjs'), echoProviderSource({ name: 'local' }));
    await expect(loadPlugin('local', './local.mjs', own, [host])).rejects.toMatchObject({ code: 'PLUGIN_NOT_INSTALLED' });
  });

  it('distinguishes a plugin that fails while loading, keeping the cause', async () => {
    const dir = project();
    writePluginPackage(dir, { name: 'broken-plugin', source: `import './missing-file.js';\nexport default {};\n` });
    const err = await loadPlugin('broken', 'broken-plugin', dir).catch((e) => e);
    expect(err).toMatchObject({ code: 'PLUGIN_LOAD_FAILED', message: expect.stringMatching(/could not load plugin 'broken'.*failed while loading/) });
    expect(err.cause).toBeDefined();
  });

  it('rejects a package without a default export, naming it', async () => {
    const dir = project();
    writePluginPackage(dir, { name: 'no-default', source: `export const plugin = {};\n` });
    await expect(loadPlugin('nd', 'no-default', dir)).rejects.toMatchObject({
      code: 'INVALID_PLUGIN',
      message: expect.stringContaining("plugin 'nd' (no-default) has no default export"),
      details: expect.objectContaining({ missing: 'default' }),
    });
  });

  it('rejects a default export that is not a branded plugin', async () => {
    const dir = project();
    writePluginPackage(dir, { name: 'plain-object', source: `export default { name: 'x', apiVersion: 1, configSchema: {}, create() {} };\n` });
    await expect(loadPlugin('po', 'plain-object', dir)).rejects.toMatchObject({ code: 'INVALID_PLUGIN', details: expect.objectContaining({ missing: 'brand' }) });
  });

  it('refuses a plugin written for another API version', async () => {
    const dir = project();
    writePluginPackage(dir, { name: 'future-plugin', source: echoProviderSource({ apiVersion: 2 }) });
    await expect(loadPlugin('future', 'future-plugin', dir)).rejects.toMatchObject({
      code: 'INCOMPATIBLE_API',
      message: expect.stringContaining('targets plugin API 2, this EchoPanel implements API 1'),
    });
  });
});

describe('loadPlugins', () => {
  it('loads the good plugins and reports every failure, one per plugin', async () => {
    const dir = project();
    writePluginPackage(dir, { name: 'good-one', source: echoProviderSource({ name: 'good' }) });
    writePluginPackage(dir, { name: 'no-default', source: `export const x = 1;\n` });
    const { loaded, failures } = await loadPlugins({ good: 'good-one', nd: 'no-default', gone: '@acme/gone' }, dir);
    expect(loaded.map((l) => l.plugin.name)).toEqual(['good']);
    expect(failures.map((f) => [f.mapName, f.error.code])).toEqual([
      ['nd', 'INVALID_PLUGIN'],
      ['gone', 'PLUGIN_NOT_INSTALLED'],
    ]);
  });
});
