// The stand-in is only worth testing against if it behaves like voxtral.c; these pin its interface to the real
// program's (main.c, voxtral.c, voxtral_safetensors.c, voxtral_tokenizer.c).
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { encodeWav } from '@echopanel/plugin-api';
import { STANDIN, expectedText, makeModelDir, toneWords } from './test-support.fixture.js';

const WORDS = ['hello', 'world', '.', 'café', '東京'];

function run(args: string[], input?: Uint8Array, env: Record<string, string> = {}) {
  const r = spawnSync(STANDIN, args, { input, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

const pcmBytes = (pcm: Int16Array) => new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);

describe('voxtral.c stand-in: command line', () => {
  const model = makeModelDir();

  it('prints the usage and exits 1 without -d', () => {
    const r = run(['--stdin']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith('voxtral.c — Voxtral Realtime 4B speech-to-text\n\nUsage: ')).toBe(true);
    expect(r.stderr).toContain('  -I <secs>     Encoder processing interval in seconds (default: 2.0)\n');
  });

  it('rejects -I that is not a positive number before loading anything', () => {
    for (const v of ['0', '-1', 'abc']) {
      const r = run(['-d', model, '--stdin', '-I', v]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe('Error: -I requires a positive number of seconds\n');
    }
  });

  it('treats an option missing its value, or an unknown one, as unknown', () => {
    const r = run(['-d', model, '--stdin', '-I']);
    expect(r.status).toBe(1);
    expect(r.stderr.startsWith('Unknown option: -I\nvoxtral.c — ')).toBe(true);
    expect(run(['-d', model, '--stdin', '--monitor']).stderr.startsWith('Unknown option: --monitor\n')).toBe(true);
  });

  it('refuses -i together with --stdin', () => {
    const r = run(['-d', model, '--stdin', '-i', 'x.wav']);
    expect(r).toMatchObject({ status: 1, stderr: 'Error: -i, --stdin, and --from-mic are mutually exclusive\n' });
  });

  it('reports a missing model like safetensors_open/vox_load/main do', () => {
    const dir = path.join(model, 'nope');
    const r = run(['-d', dir, '--stdin'], new Uint8Array(8));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'safetensors_open: open failed: No such file or directory\n' +
        `vox_load: cannot open ${dir}/consolidated.safetensors\n` +
        `Failed to load model from ${dir}\n`,
    );
  });

  it('fails stream init without tekken.json', () => {
    const dir = makeModelDir(['tekken.json']);
    const r = run(['-d', dir, '--stdin'], new Uint8Array(8));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`Loading weights...\nModel loaded.\nvox_tokenizer_load: cannot open ${dir}/tekken.json\nFailed to init stream\n`);
  });
});

describe('voxtral.c stand-in: --stdin', () => {
  const model = makeModelDir();
  const pcm = toneWords(WORDS);

  it('transcribes raw s16le: text without newlines, one \\n at EOF, status lines on stderr, exit 0', () => {
    const r = run(['-d', model, '--stdin'], pcmBytes(pcm));
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${expectedText(WORDS)}\n`);
    const lines = r.stderr.split('\n');
    expect(lines.slice(0, 2)).toEqual(['Loading weights...', 'Model loaded.']);
    expect(lines[2]).toMatch(/^Encoder: \d+ mel -> \d+ tokens \(\d+ ms\)$/);
    expect(lines[3]).toMatch(/^Decoder: \d+ text tokens \(\d+ steps\) in \d+ ms \(prefill \d+ ms \+ [\d.]+ ms\/step\)$/);
  });

  it('prints nothing but the transcript with --silent, and timing lines with VOX_PRINT_TIMINGS', () => {
    const silent = run(['-d', model, '--stdin', '--silent'], pcmBytes(pcm));
    expect(silent).toMatchObject({ status: 0, stderr: '', stdout: `${expectedText(WORDS)}\n` });
    const timed = run(['-d', model, '--stdin', '--silent'], pcmBytes(pcm), { VOX_PRINT_TIMINGS: '1' });
    expect(timed.stderr.split('\n')[0]).toMatch(/^Model load: \d+ ms$/);
    expect(timed.stderr).toMatch(/\nWall transcribe: \d+ ms\nEncoder: /);
  });

  it('buffers a WAV on stdin to EOF and reports its length', () => {
    const r = run(['-d', model, '--stdin'], encodeWav(pcm, 16000));
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${expectedText(WORDS)}\n`);
    expect(r.stderr).toContain(`Audio: ${pcm.length} samples (${(pcm.length / 16000).toFixed(1)} seconds)\n`);
  });

  it('needs 4 bytes of input', () => {
    const r = run(['-d', model, '--stdin', '--silent'], new Uint8Array(3));
    expect(r).toMatchObject({ status: 1, stdout: '', stderr: 'Not enough data on stdin\n' });
  });

  it('writes text while stdin is still open (token-wise, flushed, no newline)', async () => {
    const child = spawn(STANDIN, ['-d', model, '--stdin', '-I', '0.5', '--silent']);
    let out = '';
    const firstText = new Promise<string>((resolve) => {
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString('utf8');
        resolve(out);
      });
    });
    child.stdin.write(pcmBytes(toneWords(['alpha', 'bravo', 'charlie', '.'], { tail: 2 })));
    const early = await firstText;
    expect(early).not.toContain('\n');
    expect(early.startsWith('alpha')).toBe(true);
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(out).toBe('alpha bravo charlie.\n');
  });
});
