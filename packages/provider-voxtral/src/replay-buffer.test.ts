import { ReplayBuffer } from './replay-buffer.js';

const concat = (parts: Iterable<Int16Array>) => Array.from(parts).flatMap((p) => Array.from(p));

describe('ReplayBuffer', () => {
  it('keeps copies of appended audio from the last ack to the end', () => {
    const b = new ReplayBuffer();
    const frame = Int16Array.of(1, 2, 3);
    b.append(frame);
    frame[0] = 99; // the producer reuses its buffer
    b.append(Int16Array.of(4, 5));
    expect(concat(b.slices())).toEqual([1, 2, 3, 4, 5]);
    b.ack(2);
    expect({ start: b.start, end: b.end, size: b.size }).toEqual({ start: 2, end: 5, size: 3 });
    expect(concat(b.slices())).toEqual([3, 4, 5]);
    b.ack(1); // never goes back
    expect(b.start).toBe(2);
    b.ack(10);
    expect({ start: b.start, size: b.size, peak: b.peakSize }).toEqual({ start: 5, size: 0, peak: 5 });
  });
});
