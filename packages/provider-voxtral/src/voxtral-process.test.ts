import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { hasErrorCode } from '@echopanel/plugin-api';
import { VoxtralProcess, describeExit } from './voxtral-process.js';
import { STANDIN, makeModelDir } from './test-support.fixture.js';

const base = { env: { ...process.env } as Record<string, string>, readyTimeoutMs: 5000 };

describe('VoxtralProcess', () => {
  it('fails with WORKER_START_FAILED when the executable cannot be started', async () => {
    const p = new VoxtralProcess({ ...base, binary: '/nonexistent/voxtral', args: ['-d', 'x', '--stdin'] });
    const err = await p.ready.then(() => undefined, (e: unknown) => e);
    expect(hasErrorCode(err, 'WORKER_START_FAILED')).toBe(true);
    expect((err as Error).message).toContain('ENOENT');
    expect(describeExit(await p.exited)).toMatch(/^could not be started \(ENOENT/);
  });

  it('maps a model voxtral.c cannot load to MODEL_CORRUPT, with its stderr', async () => {
    const dir = makeModelDir();
    writeFileSync(path.join(dir, 'consolidated.safetensors'), 'tiny');
    const p = new VoxtralProcess({ ...base, binary: STANDIN, args: ['-d', dir, '--stdin'] });
    const err = await p.ready.then(() => undefined, (e: unknown) => e);
    expect(hasErrorCode(err, 'MODEL_CORRUPT')).toBe(true);
    expect((err as Error).message).toContain('safetensors_open: file too small | Failed to load model from');
    expect(await p.exited).toMatchObject({ exitCode: 1 });
  });

  it('reports a bad argument as a start failure with the exit code', async () => {
    const p = new VoxtralProcess({ ...base, binary: STANDIN, args: ['-d', makeModelDir(), '--stdin', '-I', '0'] });
    const err = await p.ready.then(() => undefined, (e: unknown) => e);
    expect(hasErrorCode(err, 'WORKER_START_FAILED')).toBe(true);
    expect((err as Error).message).toBe(
      'voxtral.c exited with code 1 before the model was loaded; stderr: Error: -I requires a positive number of seconds',
    );
  });

  it('parses the timing lines voxtral.c prints at exit', async () => {
    const p = new VoxtralProcess({ ...base, env: { ...base.env, VOX_PRINT_TIMINGS: '1' }, binary: STANDIN, args: ['-d', makeModelDir(), '--stdin', '--silent'] });
    await p.ready;
    let text = '';
    p.setTextListener((t) => (text += t));
    await p.write(new Uint8Array(32000));
    p.end();
    expect(await p.exited).toMatchObject({ exitCode: 0 });
    expect(text).toBe('\n');
    expect(p.timings.loadMs).toBeGreaterThanOrEqual(0);
    expect(p.timings.encoderMs).toBeGreaterThanOrEqual(0);
    expect(p.timings.wallMs).toBeGreaterThanOrEqual(0);
  });
});
