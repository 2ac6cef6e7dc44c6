import { PcmByteAligner, float32ToInt16, int16ToFloat32 } from './pcm.js';

/** `bytes` cut into pieces of 1, 2, 3, … bytes (every cut lands mid-sample somewhere). */
function pieces(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0, n = 1; i < bytes.length; i += n, n = (n % 7) + 1) out.push(bytes.subarray(i, i + n));
  return out;
}

describe('PcmByteAligner', () => {
  it('s16: frames cut anywhere give back every sample in order', () => {
    const pcm = Int16Array.from({ length: 1001 }, (_, i) => (i * 37) % 65536 - 32768);
    const a = new PcmByteAligner();
    const got = pieces(new Uint8Array(pcm.buffer)).flatMap((p) => Array.from(a.push(p)));
    expect(got).toEqual(Array.from(pcm));
    expect(a.pendingBytes).toBe(0);
  });

  it('float32: frames cut anywhere give back every sample in order, a partial one waits', () => {
    const f = Float32Array.from({ length: 333 }, (_, i) => Math.sin(i / 10));
    const a = new PcmByteAligner(4);
    const bytes = new Uint8Array(f.buffer);
    const got = pieces(bytes.subarray(0, bytes.length - 2)).flatMap((p) => Array.from(a.pushFloat32(p)));
    expect(got).toEqual(Array.from(f.subarray(0, 332)));
    expect(a.pendingBytes).toBe(2);
    expect(Array.from(a.pushFloat32(bytes.subarray(bytes.length - 2)))).toEqual([f[332]]);
  });
});

it('s16 → float32 → s16 round-trips exactly; out-of-range floats clamp', () => {
  const pcm = Int16Array.from([-32768, -1, 0, 1, 12345, 32767]);
  expect(Array.from(float32ToInt16(int16ToFloat32(pcm)))).toEqual(Array.from(pcm));
  expect(Array.from(float32ToInt16(Float32Array.from([1.5, -1.5])))).toEqual([32767, -32768]);
});
