import { bfloat16ToFloat32, float32ToHalf, floatToHalf, halfToFloat32 } from './half-float.js';

describe('binary16 conversion', () => {
  it('round-trips every finite half value exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const floats = halfToFloat32(all);
    const back = float32ToHalf(floats);
    for (let i = 0; i < 65536; i++) {
      const exp = (i >>> 10) & 0x1f;
      if (exp === 0x1f && (i & 0x3ff) !== 0) {
        expect(Number.isNaN(floats[i])).toBe(true);
        expect(back[i] & 0x7c00).toBe(0x7c00);
      } else if (back[i] !== i) {
        throw new Error(`half 0x${i.toString(16)} → ${floats[i]} → 0x${back[i].toString(16)}`);
      }
    }
  });

  it('decodes known values', () => {
    expect([...halfToFloat32(Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x3555))]).toEqual([
      1, -2, 65504, 2 ** -24, -0, Infinity, Math.fround(0.333251953125),
    ]);
  });

  it('rounds to nearest, ties to even, like numpy astype(float16)', () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even (down)
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(floatToHalf(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // above the tie
    expect(floatToHalf(65520)).toBe(0x7c00); // rounds up to infinity
    expect(floatToHalf(65519)).toBe(0x7bff);
    expect(floatToHalf(1e-8)).toBe(0x0000);
    expect(floatToHalf(-3 * 2 ** -25)).toBe(0x8002); // subnormal tie → even
    expect(floatToHalf(NaN) & 0x7e00).toBe(0x7e00);
  });

  it('decodes bfloat16 as the upper half of a float32', () => {
    expect([...bfloat16ToFloat32(Uint16Array.of(0x3f80, 0xc040, 0x0000))]).toEqual([1, -3, 0]);
  });
});
