import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { encodeWav } from '@echopanel/core';
import { echoProviderSource, linkPeer, writePluginPackage } from '@echopanel/core/testing';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../../dist/bin/echopanel.js');

/** Runs the built CLI in `cwd`; resolves with exit code and output (never rejects on a non-zero exit). */
async function cli(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ECHOPANEL_LOG_LEVEL: 'error' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A project outside the workspace with a config that imports a local TS file, and a 1.5 s WAV. */
function project(config: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'echopanel-cli-'));
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
    // The first-party defaults are not installed in this project: each is reported once, on one line.
    expect(json.stderr.split('\n').filter((l) => l.includes('PLUGIN_NOT_INSTALLED'))).toHaveLength(4);

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
    expect(rows.find((r) => r.name === 'faster-whisper')).toMatchObject({ available: false, reason: expect.stringContaining('PLUGIN_NOT_INSTALLED') });
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
    }, `{ asr: { provider: 'acme-echo' }, plugins: { 'acme-echo': '@acme/echopanel-provider-echo', 'other-echo': '@other/echo' } }`,
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
    expect(stderr.split('\n').filter((l) => l.startsWith('echopanel: ') && !l.startsWith('echopanel: plugin ')).length).toBe(1);
  });
});
