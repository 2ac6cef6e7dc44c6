import { decodeAlaw, decodeMulaw, encodeAlaw, encodeMulaw } from './g711.js';

const ALL_CODES = Uint8Array.from({ length: 256 }, (_, i) => i);

describe('G.711', () => {
  it('decodes the reference µ-law and A-law codes', () => {
    expect([...decodeMulaw(Uint8Array.from([0xff, 0x7f, 0x80, 0x00, 0xfe, 0x7e, 0xef]))]).toEqual([0, 0, 32124, -32124, 8, -8, 132]);
    expect([...decodeAlaw(Uint8Array.from([0xd5, 0x55, 0xaa, 0x2a]))]).toEqual([8, -8, 32256, -32256]);
  });

  it.each([
    ['µ-law', decodeMulaw, encodeMulaw],
    ['A-law', decodeAlaw, encodeAlaw],
  ])('%s: every code decodes and encodes back to itself', (_name, decode, encode) => {
    const back = encode(decode(ALL_CODES));
    // µ-law has two codes for zero (0x7f, 0xff); both decode to 0, which encodes as 0xff.
    const expected = [...ALL_CODES].map((c) => (decode === decodeMulaw && c === 0x7f ? 0xff : c));
    expect([...back]).toEqual(expected);
  });

  it.each([
    ['µ-law', decodeMulaw, encodeMulaw],
    ['A-law', decodeAlaw, encodeAlaw],
  ])('%s: a full-scale sweep comes back within the quantization step of its segment', (_name, decode, encode) => {
    const pcm = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
    const back = decode(encode(pcm));
    let worst = 0;
    for (let i = 0; i < pcm.length; i++) {
      const err = Math.abs(back[i] - pcm[i]);
      // Steps are 1/16 of the segment (about 1/32 of the magnitude either side), at least 16 near zero.
      worst = Math.max(worst, err / Math.max(Math.abs(pcm[i]), 256));
    }
    expect(worst).toBeLessThan(0.07);
  });
});
