import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ensureBundledGgml } from '@echopanel/core';
import { seededRandom, synthesizeSpeech } from '@echopanel/plugin-testkit';
import { TEST_PYTHON } from '../server/__fixtures__/real-engine.js';
import { cliLines, poll, projectDir, runCli, startServe } from './__fixtures__/cli-process.js';

// Every failure is one line `echopanel: CODE: message` naming the root cause, and nothing a server would say.
const ONE_LINE = /^echopanel: [A-Z_]+: \S/;

let dir: string;
let wav: string;
let models: { truncated: string; corrupt: string; missing: string };

beforeAll(async () => {
  dir = projectDir({ 'echopanel.config.json': JSON.stringify({ vad: { enabled: false } }) });
  wav = synthesizeSpeech('Errors carry a stable code.').wavPath;
  const real = await ensureBundledGgml({ pythonPath: TEST_PYTHON, modelDir: path.join(dir, 'models') });
  const bytes = readFileSync(real.path);
  models = { truncated: path.join(dir, 'truncated.bin'), corrupt: path.join(dir, 'corrupt.bin'), missing: path.join(dir, 'missing.bin') };
  writeFileSync(models.truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const rand = seededRandom(15);
  writeFileSync(models.corrupt, Buffer.from(Array.from({ length: 64 * 1024 }, () => Math.floor(rand() * 256))));
});

async function failure(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await runCli(dir, args, env);
  const lines = cliLines(r.stderr).filter((l) => !l.includes('resampling'));
  expect({ code: r.code, stdout: r.stdout, lines: lines.length }).toEqual({ code: 1, stdout: '', lines: 1 });
  expect(lines[0]).toMatch(ONE_LINE);
  expect(lines[0]).not.toMatch(/retry when \/health|NOT_READY/);
  return lines[0];
}

describe('CLI errors name the root cause', () => {
  it.each([
    ['missing', 'MODEL_NOT_FOUND', /not found/],
    ['corrupt', 'MODEL_CORRUPT', /is not a whisper\.cpp ggml model/],
    ['truncated', 'MODEL_CORRUPT', /is truncated/],
  ] as const)('a %s ggml model: %s', async (which, code, message) => {
    const line = await failure(['transcribe', wav, '--provider', 'whisper-cpp'], { ECHOPANEL_WHISPER_CPP_MODEL: models[which] });
    expect(line).toMatch(new RegExp(`^echopanel: ${code}: `));
    expect(line).toMatch(message);
    expect(line).toContain(models[which]);
  });

  it('missing Python: PROVIDER_UNAVAILABLE saying which interpreter and how to get one', async () => {
    const line = await failure(['transcribe', wav, '--provider', 'faster-whisper'], { ECHOPANEL_PYTHON: path.join(dir, 'no-python') });
    expect(line).toMatch(/^echopanel: PROVIDER_UNAVAILABLE: .*no Python interpreter at .*no-python.*bootstrap/);
  });

  it('missing voxtral binary: PROVIDER_UNAVAILABLE with the path looked at and how to build it', async () => {
    const line = await failure(['transcribe', wav, '--provider', 'voxtral'], { ECHOPANEL_VOXTRAL_BIN: path.join(dir, 'no-voxtral') });
    expect(line).toMatch(/^echopanel: PROVIDER_UNAVAILABLE: .*voxtral\.c executable not found: no executable file at .*no-voxtral.*make/);
  });

  it.each([
    [['serve', '--port', '99999'], /^echopanel: INVALID_CONFIG: --port: .*65535/],
    [['serve', '--port', 'eighty'], /^echopanel: INVALID_CONFIG: --port: 'eighty' is not a port number/],
    [['serve', '--frobnicate'], /^echopanel: INVALID_CONFIG: unknown option '--frobnicate'$/],
    [['transcribe'], /^echopanel: INVALID_CONFIG: missing required argument 'file'$/],
    [['transcribe', 'x.wav', '--format', 'xml'], /^echopanel: INVALID_CONFIG: --format must be one of text, json, srt, vtt/],
    [['transcribe', 'x.wav', '--language', 'e'], /^echopanel: INVALID_CONFIG: --language: /],
    [['transcribe', 'WAV', '--provider', 'nope'], /^echopanel: PROVIDER_NOT_FOUND: asr\.provider is 'nope', which is not in the import map \(faster-whisper, whisper-cpp, voxtral, silero\)/],
  ])('bad options %j fail like bad config', async (args, expected) => {
    expect(await failure(args.map((a) => (a === 'WAV' ? wav : a)))).toMatch(expected);
  });

  it('a port in use: LISTEN_FAILED saying what to do', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const line = await failure(['serve', '--port', String(port), '--config', path.join(dir, 'echopanel.config.json')], {
        ECHOPANEL_WHISPER_CPP_MODEL: models.missing,
        ECHOPANEL_ASR_PROVIDER: 'whisper-cpp',
      });
      expect(line).toBe(`echopanel: LISTEN_FAILED: cannot listen on 127.0.0.1:${port}: the port is in use (another server?); stop it or choose another port (--port, server.port or ECHOPANEL_PORT)`);
    } finally {
      blocker.close();
    }
  });

  it('the server reports the same root cause on /health (with its own advice there)', async () => {
    const server = await startServe(dir, [], { ECHOPANEL_ASR_PROVIDER: 'whisper-cpp', ECHOPANEL_WHISPER_CPP_MODEL: models.truncated });
    const health = await poll(`${server.url}/health`, (r) => r.body?.model_state === 'ERROR', 30_000);
    await server.stop();
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'error', model_state: 'ERROR', reason: expect.stringMatching(/MODEL_CORRUPT: .*is truncated/) });
  });
});
