import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from './load-config.js';
import { linkPeer } from '@echopanel/plugin-testkit';

function tempProject(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'echopanel-config-'));
  linkPeer(dir, '@echopanel/core');
  return dir;
}

describe('loadConfig', () => {
  it('defaults everything when no config file exists, and freezes the result', async () => {
    const dir = tempProject();
    const { config, filepath, configDir } = await loadConfig({ cwd: dir, env: {} });
    expect(filepath).toBeUndefined();
    expect(configDir).toBe(dir);
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(config.asr).toMatchObject({ provider: 'auto', language: 'en', chunkSeconds: 2, segmentation: 'vad' });
    expect(config.vad).toMatchObject({ provider: 'silero', enabled: true });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.asr.degrade.thresholds)).toBe(true);
    expect(() => {
      (config.asr as { provider: string }).provider = 'x';
    }).toThrow(TypeError);
  });

  it('loads echopanel.config.ts with a relative TypeScript import, found from a subdirectory', async () => {
    const dir = tempProject();
    writeFileSync(path.join(dir, 'settings.ts'), `export const port: number = 9123;\nexport const prefix = 'X';\n`);
    writeFileSync(
      path.join(dir, 'echopanel.config.ts'),
      `import { defineConfig } from '@echopanel/core';\nimport { port, prefix } from './settings';\n` +
        `export default defineConfig({ server: { port }, asr: { provider: 'acme-echo' }, plugins: { 'acme-echo': '@acme/echo' }, providers: { 'acme-echo': { prefix } } });\n`,
    );
    const sub = path.join(dir, 'a', 'b');
    mkdirSync(sub, { recursive: true });
    const { config, filepath, configDir } = await loadConfig({ cwd: sub, env: {} });
    expect(filepath).toBe(path.join(dir, 'echopanel.config.ts'));
    expect(configDir).toBe(dir);
    expect(config.server.port).toBe(9123);
    expect(config.plugins).toEqual({ 'acme-echo': '@acme/echo' });
    expect(config.providers['acme-echo']).toEqual({ prefix: 'X' });
  });

  it('reads the "echopanel" key of package.json', async () => {
    const dir = tempProject();
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'p', echopanel: { asr: { language: 'de' } } }));
    const { config } = await loadConfig({ cwd: dir, env: {} });
    expect(config.asr.language).toBe('de');
  });

  it('applies environment overrides on top of the file', async () => {
    const dir = tempProject();
    writeFileSync(path.join(dir, 'echopanel.config.json'), JSON.stringify({ asr: { provider: 'whisper-cpp' } }));
    const { config } = await loadConfig({
      cwd: dir,
      env: { ECHOPANEL_ASR_PROVIDER: 'faster-whisper', ECHOPANEL_PORT: '9999', ECHOPANEL_WHISPER_MODEL: 'base.en', ECHOPANEL_VAD_ENABLED: 'false' },
    });
    expect(config.asr.provider).toBe('faster-whisper');
    expect(config.server.port).toBe(9999);
    expect(config.vad.enabled).toBe(false);
    expect(config.providers['faster-whisper']).toEqual({ model: 'base.en' });
  });

  it('names the exact path of an invalid value', async () => {
    const dir = tempProject();
    writeFileSync(path.join(dir, 'echopanel.config.json'), JSON.stringify({ server: { port: 'eighty' }, asr: { segmentation: 'words' } }));
    await expect(loadConfig({ cwd: dir, env: {} })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/server\.port: .*expected number.*asr\.segmentation/),
    });
  });

  it('rejects unknown top-level keys', async () => {
    const dir = tempProject();
    writeFileSync(path.join(dir, 'echopanel.config.json'), JSON.stringify({ sever: {} }));
    await expect(loadConfig({ cwd: dir, env: {} })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('sever: unknown key') });
  });

  it('rejects unknown keys at every level, naming the closest valid key', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ asr: { chunkSecond: 3 } }, /asr\.chunkSecond: unknown key \(did you mean "chunkSeconds"\?\)/],
      [{ server: { limits: { maxSesions: 3 } } }, /server\.limits\.maxSesions: unknown key \(did you mean "maxSessions"\?\)/],
      [{ asr: { degrade: { thresholds: { warn: 1 } } } }, /asr\.degrade\.thresholds\.warn: unknown key/],
      [{ vad: { enabld: false } }, /vad\.enabld: unknown key \(did you mean "enabled"\?\)/],
      [{ models: { allowDownloads: true } }, /models\.allowDownloads: unknown key \(did you mean "allowDownload"\?\)/],
      [{ sever: {} }, /sever: unknown key \(did you mean "server"\?\)/],
      // Nothing close: the valid keys are listed instead.
      [{ server: { zzzzzzzz: 1 } }, /server\.zzzzzzzz: unknown key \(valid: host, port, .*allowedHosts/],
    ];
    for (const [inline, message] of cases) {
      await expect(loadConfig({ inline, env: {} })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(message) });
    }
  });

  it('refuses an environment override that does not parse, naming the variable', async () => {
    await expect(loadConfig({ inline: {}, env: { ECHOPANEL_VAD_ENABLED: 'ture' } })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/ECHOPANEL_VAD_ENABLED="ture" is not a boolean/),
    });
    await expect(loadConfig({ inline: {}, env: { ECHOPANEL_PORT: 'abc' } })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/ECHOPANEL_PORT="abc" is not a number/),
    });
    const { config } = await loadConfig({ inline: {}, env: { ECHOPANEL_VAD_ENABLED: 'off', ECHOPANEL_DEGRADE_ENABLED: '1', ECHOPANEL_PORT: ' 9001 ' } });
    expect([config.vad.enabled, config.asr.degrade.enabled, config.server.port]).toEqual([false, true, 9001]);
  });

  it('takes server.tls from the file or from ECHOPANEL_TLS_CERT / ECHOPANEL_TLS_KEY, and wants both files', async () => {
    const { config } = await loadConfig({ inline: {}, env: { ECHOPANEL_TLS_CERT: '/etc/ep/cert.pem', ECHOPANEL_TLS_KEY: '/etc/ep/key.pem' } });
    expect(config.server.tls).toEqual({ certFile: '/etc/ep/cert.pem', keyFile: '/etc/ep/key.pem' });
    await expect(loadConfig({ inline: {}, env: { ECHOPANEL_TLS_CERT: 'cert.pem' } })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining('server.tls.keyFile'),
    });
    await expect(loadConfig({ inline: { server: { tls: { certFile: 'c.pem', keyFile: 'k.pem', ca: 'x' } } }, env: {} })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining('ca: unknown key'),
    });
  });

  it('reports a missing --config file as CONFIG_NOT_FOUND and a syntax error as INVALID_CONFIG', async () => {
    const dir = tempProject();
    await expect(loadConfig({ cwd: dir, configFile: 'nope.config.ts', env: {} })).rejects.toMatchObject({ code: 'CONFIG_NOT_FOUND' });
    writeFileSync(path.join(dir, 'broken.config.ts'), 'export default {');
    await expect(loadConfig({ cwd: dir, configFile: 'broken.config.ts', env: {} })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
