import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CONFORMANCE_CHECKS, echoProviderSource, writePluginPackage } from '@echopanel/plugin-testkit';
import { cliLines, projectDir, runCli } from './__fixtures__/cli-process.js';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** `npm <args>` in `cwd`; resolves with the exit code and output. */
async function npm(cwd: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('npm', args, { cwd, env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' } });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

/** The checks node's test runner reported passed and failed (one test per check: `ok 5 - load-unload: …`). */
function checkTests(out: string): { passed: string[]; failed: string[] } {
  const ids = (re: RegExp) => [...out.matchAll(re)].map((m) => m[1]);
  return { passed: ids(/^\s*ok \d+ - ([a-z-]+): /gm), failed: ids(/^\s*not ok \d+ - ([a-z-]+): /gm) };
}

describe('echopanel plugin new', () => {
  it('outside the repository: the package links this installation, installs, and passes npm test and plugin test', async () => {
    const dir = path.join(projectDir(), 'tones');
    const made = await runCli(repoRoot, ['plugin', 'new', '@acme/echopanel-provider-tones', '--dir', dir]);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain(`wrote @acme/echopanel-provider-tones (provider 'tones') in ${dir}`);
    expect(made.stdout).toContain('file: links to this EchoPanel installation');
    const install = await npm(dir, ['install']);
    expect(install).toMatchObject({ code: 0 });
    const test = await npm(dir, ['test']);
    expect(test.code).toBe(0);
    // One test per check, all passed (the kit's own skips pass, their reason in the title or the log).
    expect(checkTests(test.out)).toEqual({ passed: [...CONFORMANCE_CHECKS], failed: [] });

    const kit = await runCli(repoRoot, ['plugin', 'test', dir]);
    expect(kit.code).toBe(0);
    expect(kit.stdout).toMatch(/^PASS {2}transcribes-speech +\(\d+ ms\) {2}pooled WER 0\.0 % over 58 words of DTMF keys \(bound 5\.0 %\)$/m);
    expect(kit.stdout).toMatch(/^SKIP {2}unavailable-reasons +\(\d+ ms\) {2}declared by the provider's kit options: /m);
    expect(kit.stdout.trim().split('\n').at(-1)).toBe('tones: 14 passed, 0 failed, 3 skipped (corpus: DTMF keys)');
  });

  it('inside the workspace (packages/…): workspace ranges, and npm test passes without an install', async () => {
    const dir = path.join(repoRoot, 'packages', `.plugin-new-test-${process.pid}`);
    try {
      const made = await runCli(repoRoot, ['plugin', 'new', 'echopanel-provider-beep', '--dir', dir]);
      expect(made.code).toBe(0);
      expect(made.stdout).toContain('from this workspace');
      const test = await npm(dir, ['test']);
      expect(test.code).toBe(0);
      expect(checkTests(test.out)).toEqual({ passed: [...CONFORMANCE_CHECKS], failed: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a name that is not a package name, and a directory in use', async () => {
    const bad = await runCli(repoRoot, ['plugin', 'new', 'Not A Name', '--dir', path.join(projectDir(), 'x')]);
    expect(bad.code).toBe(1);
    expect(cliLines(bad.stderr)).toEqual(["echopanel: INVALID_CONFIG: 'Not A Name' is not an npm package name (lower case, e.g. echopanel-provider-acme or @acme/echopanel-provider-acme)"]);
    const used = projectDir({ 'notes.txt': 'mine' });
    const taken = await runCli(repoRoot, ['plugin', 'new', 'echopanel-provider-x', '--dir', used]);
    expect(taken.code).toBe(1);
    expect(cliLines(taken.stderr)).toEqual([`echopanel: INVALID_CONFIG: ${used} already exists and is not empty; choose another --dir`]);
  });
});

describe('echopanel plugin test', () => {
  it('a plugin that ignores what it hears fails the named checks and exits 1 with CONFORMANCE_FAILED', async () => {
    const project = projectDir();
    // The echo plugin answers every frame with "<prefix>: <n> samples", speech or silence alike.
    const dir = writePluginPackage(project, { name: '@acme/echopanel-provider-echo', source: echoProviderSource() });
    const r = await runCli(project, ['plugin', 'test', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^PASS {2}plugin-shape +\(\d+ ms\) {2}'acme-echo', API 1$/m);
    expect(r.stdout).toMatch(/^FAIL {2}transcribes-speech +\(\d+ ms\) {2}pooled WER \d+\.\d % over 50 words of espeak-ng speech \(bound 45\.0 %\); heard "echo: 1600 samples/m);
    expect(r.stdout).toMatch(/^FAIL {2}silence +\(\d+ ms\) {2}5 s of silence gave 50 segment\(s\) with text: "echo: 1600 samples \| /m);
    expect(r.stdout).toMatch(/^FAIL {2}unload-during-stream +\(\d+ ms\) {2}the stream ended without an error/m);
    const lines = cliLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^echopanel: CONFORMANCE_FAILED: acme-echo failed \d+ of 17 conformance checks: load-unload, transcribes-speech, .*silence.*unload-during-stream$/);
  });

  it('--skip declares a check the plugin does not claim, with its reason; a bad --skip is INVALID_CONFIG', async () => {
    const project = projectDir();
    const dir = writePluginPackage(project, { name: 'echopanel-provider-echo', source: echoProviderSource() });
    const r = await runCli(project, ['plugin', 'test', dir, '--json', '--skip', 'silence=echoes everything', '--plugin-config', '{"prefix":"x"}']);
    const report = JSON.parse(r.stdout) as { results: Array<{ id: string; status: string; detail: string }> };
    expect(report.results.find((x) => x.id === 'silence')).toMatchObject({ status: 'skipped', detail: "declared by the provider's kit options: echoes everything" });
    expect(report.results.find((x) => x.id === 'transcribes-speech')!.detail).toMatch(/heard "x: 1600 samples/);
    const bad = await runCli(project, ['plugin', 'test', dir, '--skip', 'silense=typo']);
    expect(cliLines(bad.stderr)[0]).toMatch(/^echopanel: INVALID_CONFIG: --skip: 'silense=typo' is not CHECK=REASON with CHECK one of plugin-shape, /);
  });

  it('a directory without a package, or with its entry not built, fails with the code and what to do', async () => {
    const empty = projectDir();
    expect(cliLines((await runCli(empty, ['plugin', 'test', '.'])).stderr)).toEqual([`echopanel: PLUGIN_NOT_INSTALLED: no package.json in ${empty}: give the directory of a plugin package`]);
    const unbuilt = projectDir({ 'package.json': JSON.stringify({ name: 'p', type: 'module', main: './dist/index.js' }) });
    mkdirSync(path.join(unbuilt, 'src'));
    writeFileSync(path.join(unbuilt, 'src/index.ts'), 'export default {};\n');
    const r = await runCli(unbuilt, ['plugin', 'test', unbuilt]);
    expect(r.code).toBe(1);
    expect(cliLines(r.stderr)).toEqual([`echopanel: PLUGIN_LOAD_FAILED: ${path.join(unbuilt, 'dist/index.js')} (the package's entry) does not exist: build the plugin first (npm run build)`]);
    expect(existsSync(path.join(unbuilt, 'dist'))).toBe(false);
  });
});
