import { PassThrough } from 'node:stream';
import { createProgressBar, formatProgress } from './progress-bar.js';

describe('progress bar', () => {
  it('formats bytes, rate and ETA', () => {
    expect(formatProgress('ggml/tiny.en', { bytes: 25e6, total: 100e6, rate: 5e6, etaSeconds: 15 }, 10)).toBe(
      'ggml/tiny.en [###.......] 25.0/100.0 MB  5.0 MB/s  ETA 15s',
    );
    expect(formatProgress('x', { bytes: 100e6, total: 100e6, rate: 1e6, etaSeconds: 125 }, 4)).toBe('x [####] 100.0/100.0 MB  1.0 MB/s  ETA 2m05s');
    expect(formatProgress('x', { bytes: 3e6, rate: 1.5e6 })).toBe('x 3.0 MB  1.5 MB/s');
  });

  it('redraws in place on a TTY and prints one summary line otherwise', () => {
    const write = (isTTY: boolean): string => {
      const s = Object.assign(new PassThrough(), { isTTY, columns: 60 }) as unknown as NodeJS.WriteStream;
      let out = '';
      (s as unknown as PassThrough).on('data', (c: Buffer) => (out += c.toString()));
      const bar = createProgressBar(s, 'm', 0);
      bar.update({ bytes: 1e6, total: 2e6, rate: 1e6, etaSeconds: 1 });
      bar.update({ bytes: 2e6, total: 2e6, rate: 1e6, etaSeconds: 0 });
      bar.done();
      return out;
    };
    const tty = write(true);
    expect(tty.split('\r').filter((x) => x.startsWith('m ['))).toHaveLength(3);
    expect(tty.endsWith('2.0/2.0 MB  1.0 MB/s  ETA 0s\n')).toBe(true);
    expect(write(false)).toBe('m [########################] 2.0/2.0 MB  1.0 MB/s  ETA 0s\n');
  });
});
