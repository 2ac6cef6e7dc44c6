import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeWav } from '@echopanel/core';
import { echoProviderSource, linkPeer, writePluginPackage } from '@echopanel/plugin-testkit';
import { projectDir, runCli } from './__fixtures__/cli-process.js';

/** Runs the CLI in `cwd` with errors only in the log. */
const cli = (cwd: string, args: string[]) => runCli(cwd, args, { ECHOPANEL_LOG_LEVEL: 'error' });

/** A project outside the workspace with a config that imports a local TS file, and a 1.5 s WAV. */
function project(config: string): string {
  const dir = projectDir();
  linkPeer(dir, '@echopanel/core'); // an EchoPanel project has core installed
  writeFileSync(path.join(dir, 'prefix.ts'), `export const prefix: string = 'X';\n`);
  writeFileSync(path.join(dir, 'echopanel.config.ts'), `import { defineConfig } from '@echopanel/core';\nimport { prefix } from './prefix';\nexport default defineConfig(${config});\n`);
  const tone = new Int16Array(24000).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000)));
  writeFileSync(path.join(dir, 'tone.wav'), encodeWav(tone, 16000));
  return dir;
}

const ACME = `{ asr: { provider: 'acme-echo' }, plugins: { 'acme-echo': '@acme/echopanel-provider-echo' }, providers: { 'acme-echo': { prefix } } }`;

describe('a third-party plugin outside the workspace, through the CLI', () => {
  it('is found by name from the config, validated, injected with its slice and used by `transcribe`', async () => {
    const dir = project(ACME);
    writePluginPackage(dir, { name: '@acme/echopanel-provider-echo', version: '1.2.3', source: echoProviderSource() });
    const json = await cli(dir, ['transcribe', 'tone.wav', '--format', 'json']);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.provider).toBe('acme-echo');
    // The pipeline hands a provider without `decode` the stream in 100 ms frames, as a live client sends them.
    expect(out.segments.map((s: { text: string }) => s.text)).toEqual(Array(15).fill('X: 1600 samples'));
    expect(out.segments[14]).toMatchObject({ start: 1.4, end: 1.5, isFinal: true });
    expect(out.stats).toMatchObject({ receivedSamples: 24000, transcribedSamples: 24000, droppedSamples: 0 });
    // Only the plugins the config uses are loaded (acme-echo, and Silero from the installed EchoPanel): no warnings.
    expect(json.stderr).not.toContain('echopanel: ');

    const srt = await cli(dir, ['transcribe', 'tone.wav', '--format', 'srt']);
    expect(srt.stdout).toContain('15\n00:00:01,400 --> 00:00:01,500\nX: 1600 samples');
  });

  it('is listed by `providers --json` with package, version and availability', async () => {
    const dir = project(ACME);
    writePluginPackage(dir, { name: '@acme/echopanel-provider-echo', version: '1.2.3', source: echoProviderSource() });
    const { code, stdout } = await cli(dir, ['providers', '--json']);
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as Array<{ name: string; package: string; version: string | null; available: boolean; reason: string | null }>;
    expect(rows.find((r) => r.name === 'acme-echo')).toMatchObject({ package: '@acme/echopanel-provider-echo', version: '1.2.3', available: true, reason: null });
    // Not installed in this project: resolved from the installed EchoPanel.
    expect(rows.find((r) => r.name === 'faster-whisper')).toMatchObject({ kind: 'provider', package: '@echopanel/provider-faster-whisper' });
  });

  const failures: Array<[string, (dir: string) => void, string, RegExp]> = [
    ['package missing', () => undefined, ACME, /^echopanel: PLUGIN_NOT_INSTALLED: could not load plugin 'acme-echo': package @acme\/echopanel-provider-echo is not installed.*npm install @acme\/echopanel-provider-echo$/m],
    ['no default export', (d) => writePluginPackage(d, { name: '@acme/echopanel-provider-echo', source: 'export const x = 1;\n' }), ACME, /^echopanel: INVALID_PLUGIN: plugin 'acme-echo' \(@acme\/echopanel-provider-echo\) has no default export/m],
    ['wrong apiVersion', (d) => writePluginPackage(d, { name: '@acme/echopanel-provider-echo', source: echoProviderSource({ apiVersion: 99 }) }), ACME, /^echopanel: INCOMPATIBLE_API: .*targets plugin API 99/m],
    ['config slice invalid', (d) => writePluginPackage(d, { name: '@acme/echopanel-provider-echo', source: echoProviderSource() }),
      `{ asr: { provider: 'acme-echo' }, plugins: { 'acme-echo': '@acme/echopanel-provider-echo' }, providers: { 'acme-echo': { prefix: 7 } } }`,
      /^echopanel: INVALID_CONFIG: providers\.acme-echo\.prefix: .*expected string/m],
    ['two plugins with one name', (d) => {
      writePluginPackage(d, { name: '@acme/echopanel-provider-echo', source: echoProviderSource() });
      writePluginPackage(d, { name: '@other/echo', source: echoProviderSource() });
    }, `{ asr: { provider: 'acme-echo', fallback: 'other-echo' }, plugins: { 'acme-echo': '@acme/echopanel-provider-echo', 'other-echo': '@other/echo' } }`,
      /^echopanel: DUPLICATE_PROVIDER: provider 'acme-echo' is registered twice: by @acme\/echopanel-provider-echo and by @other\/echo/m],
    ['create throws', (d) => writePluginPackage(d, { name: '@acme/echopanel-provider-echo', source: echoProviderSource({ createThrows: 'license key missing' }) }), ACME,
      /^echopanel: PROVIDER_CREATE_FAILED: provider 'acme-echo' failed in create\(\): license key missing$/m],
  ];

  it.each(failures)('%s: exits non-zero with one line naming the code', async (_name, setup, config, expected) => {
    const dir = project(config);
    setup(dir);
    const { code, stderr } = await cli(dir, ['transcribe', 'tone.wav']);
    expect(code).toBe(1);
    expect(stderr).toMatch(expected);
    expect(stderr.split('\n').filter((l) => l.startsWith('echopanel: ') && !l.startsWith('echopanel: warning: ')).length).toBe(1);
  });
});
