import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeWav } from '@echopanel/core';
import {
  echoProviderSource,
  linkPeer,
  SPEECH_SENTENCES,
  synthesizeSpeech,
  wordErrorRate,
  writePluginPackage,
} from '@echopanel/plugin-testkit';
import { standinTones, voxtralStandin } from '../server/__fixtures__/real-engine.js';
import { cliLines, poll, projectDir, runCli, startServe } from './__fixtures__/cli-process.js';

interface Row {
  name: string;
  kind: string;
  package: string;
  version: string | null;
  available: boolean;
  reason: string | null;
}

const FIRST_PARTY = {
  'faster-whisper': '@echopanel/provider-faster-whisper',
  'whisper-cpp': '@echopanel/provider-whisper-cpp',
  voxtral: '@echopanel/provider-voxtral',
  silero: '@echopanel/vad-silero',
};

/** The voxtral.c stand-in, as environment overrides. */
function voxtralStandinEnv(): Record<string, string> {
  const { binary, modelDir } = voxtralStandin();
  return { ECHOPANEL_VOXTRAL_BIN: binary, ECHOPANEL_VOXTRAL_MODEL_DIR: modelDir };
}

describe('plugin resolution through the CLI, for a config outside the repository', () => {
  it('a config in an empty directory uses every first-party provider (resolved from the installed EchoPanel)', async () => {
    // Nothing is installed there: defineConfig comes from the core that loads the config.
    const dir = projectDir({
      'echopanel.config.ts': `import { defineConfig } from '@echopanel/core';\nexport default defineConfig({ asr: { language: 'en' } });\n`,
    });
    const config = path.join(dir, 'echopanel.config.ts');
    const voxtral = voxtralStandinEnv();
    const listed = await runCli(dir, ['providers', '--json', '--config', config], voxtral);
    expect(listed.code).toBe(0);
    expect(cliLines(listed.stderr)).toEqual([]);
    const rows = JSON.parse(listed.stdout) as Row[];
    for (const [name, pkg] of Object.entries(FIRST_PARTY)) {
      expect(rows.find((r) => r.name === name)).toMatchObject({ package: pkg, kind: name === 'silero' ? 'vad' : 'provider', available: true, reason: null });
    }

    // Each engine transcribes from that config: ~50 words of synthesized speech.
    const speech = synthesizeSpeech(SPEECH_SENTENCES.join(' '), { padSeconds: 0.5 });
    for (const provider of ['faster-whisper', 'whisper-cpp']) {
      const out = await runCli(dir, ['transcribe', speech.wavPath, '--provider', provider, '--config', config]);
      expect({ provider, code: out.code, errors: cliLines(out.stderr).filter((l) => !l.includes('resampling')) }).toEqual({ provider, code: 0, errors: [] });
      // tiny.en measured 0.04 WER on this speech with both engines; 0.25 leaves more than 2x margin.
      expect(wordErrorRate(speech.text, out.stdout).wer).toBeLessThan(0.25);
    }
    // voxtral (the stand-in hears tones as its vocabulary): one-shot, so no spare process and no warning at exit.
    const tones = path.join(dir, 'tones.wav');
    writeFileSync(tones, encodeWav(standinTones(['alpha', 'bravo', 'charlie']), 16000));
    const vox = await runCli(dir, ['transcribe', tones, '--provider', 'voxtral', '--config', config], voxtral);
    expect({ code: vox.code, stdout: vox.stdout.trim(), lines: cliLines(vox.stderr) }).toEqual({ code: 0, stdout: 'alpha bravo charlie.', lines: [] });
  });

  it("a project's own copy of a plugin wins over the one shipped with EchoPanel", async () => {
    const dir = projectDir({
      'echopanel.config.json': JSON.stringify({ asr: { provider: 'voxtral' }, vad: { enabled: false }, providers: { voxtral: { prefix: 'own' } } }),
    });
    linkPeer(dir, '@echopanel/core');
    writePluginPackage(dir, { name: '@echopanel/provider-voxtral', version: '9.9.9', source: echoProviderSource({ name: 'voxtral' }) });
    const listed = await runCli(dir, ['providers', '--json']);
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as Row[];
    expect(rows.find((r) => r.name === 'voxtral')).toMatchObject({ package: '@echopanel/provider-voxtral', version: '9.9.9', available: true });
    expect(rows.find((r) => r.name === 'whisper-cpp')).toMatchObject({ package: '@echopanel/provider-whisper-cpp', version: '0.1.0' });
    writeFileSync(path.join(dir, 'tone.wav'), encodeWav(new Int16Array(3200).fill(1000), 16000));
    const out = await runCli(dir, ['transcribe', 'tone.wav']);
    expect({ code: out.code, stdout: out.stdout.trim() }).toEqual({ code: 0, stdout: 'own: 1600 samples own: 1600 samples' });
  });

  it('a plugin the config does not use cannot break serve, even broken or missing; `providers` lists it as a warning', async () => {
    const dir = projectDir({
      'broken-plugin.mjs': 'throw new Error("boom at import");\n',
      'echopanel.config.json': JSON.stringify({
        asr: { provider: 'whisper-cpp' },
        vad: { enabled: false },
        plugins: { broken: './broken-plugin.mjs', silero: '@acme/vad-that-is-not-installed' },
      }),
    });
    const server = await startServe(dir, []);
    const health = await poll(`${server.url}/health`, (r) => r.status === 200, 60_000);
    const { code, stderr } = await server.stop();
    expect(health.status).toBe(200);
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/broken|silero|PLUGIN_/);

    const listed = await runCli(dir, ['providers', '--json']);
    expect(listed.code).toBe(0);
    expect(cliLines(listed.stderr)).toEqual([
      expect.stringMatching(/^echopanel: warning: plugin silero: PLUGIN_NOT_INSTALLED: .*npm install @acme\/vad-that-is-not-installed$/),
      expect.stringMatching(/^echopanel: warning: plugin broken: PLUGIN_LOAD_FAILED: .*boom at import$/),
    ]);
    expect((JSON.parse(listed.stdout) as Row[]).find((r) => r.name === 'broken')).toMatchObject({ available: false, reason: expect.stringContaining('PLUGIN_LOAD_FAILED') });
  });
});
