import { SampleBuffer } from './sample-buffer.js';

const ramp = (from: number, n: number) => Int16Array.from({ length: n }, (_, i) => (from + i) % 32000);

describe('SampleBuffer', () => {
  it('addresses samples by absolute index across appends, discards and compaction', () => {
    const b = new SampleBuffer(8);
    let next = 0;
    for (let round = 0; round < 50; round++) {
      b.append(ramp(next, 7));
      next += 7;
      b.discardBefore(next - 10);
      expect(b.end).toBe(next);
      expect(Array.from(b.slice(next - 5, next))).toEqual(Array.from(ramp(next - 5, 5)));
    }
    expect(b.size).toBeLessThanOrEqual(10);
    expect(b.start).toBe(next - 10);
  });

  it('clamps slices to what it holds', () => {
    const b = new SampleBuffer(4);
    b.append(ramp(0, 6));
    b.discardBefore(2);
    expect(Array.from(b.slice(0, 100))).toEqual([2, 3, 4, 5]);
    expect(b.slice(10, 20).length).toBe(0);
  });
});
