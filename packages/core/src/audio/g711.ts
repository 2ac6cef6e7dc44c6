/**
 * G.711 companded telephony audio (ITU-T G.711): one byte per sample, 8 kHz by convention. µ-law is the North
 * American and Japanese variant (`audio/pcmu`, `g711_ulaw`), A-law the European one (`audio/pcma`, `g711_alaw`).
 */

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

const MULAW_TABLE = buildTable((byte) => {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
  return u & 0x80 ? -magnitude : magnitude;
});

const ALAW_TABLE = buildTable((byte) => {
  const a = byte ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  // A-law's sign bit is set for positive samples.
  return a & 0x80 ? magnitude : -magnitude;
});

/** µ-law bytes → 16-bit linear PCM. */
export function decodeMulaw(bytes: Uint8Array): Int16Array {
  return lookup(bytes, MULAW_TABLE);
}

/** A-law bytes → 16-bit linear PCM. */
export function decodeAlaw(bytes: Uint8Array): Int16Array {
  return lookup(bytes, ALAW_TABLE);
}

/** 16-bit linear PCM → µ-law bytes. */
export function encodeMulaw(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) {
    const s = pcm[i];
    const sign = s < 0 ? 0x80 : 0;
    const biased = Math.min(Math.abs(s), MULAW_CLIP) + MULAW_BIAS;
    const exponent = 31 - Math.clz32(biased >> 7);
    const mantissa = (biased >> (exponent + 3)) & 0x0f;
    out[i] = ~(sign | (exponent << 4) | mantissa) & 0xff;
  }
  return out;
}

/** 16-bit linear PCM → A-law bytes. */
export function encodeAlaw(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) {
    const s = pcm[i];
    const sign = s >= 0 ? 0x80 : 0;
    const magnitude = s >= 0 ? s : -s - 1;
    let code: number;
    if (magnitude < 256) code = magnitude >> 4;
    else {
      const exponent = 31 - Math.clz32(magnitude) - 7;
      code = (exponent << 4) | ((magnitude >> (exponent + 3)) & 0x0f);
    }
    out[i] = (sign | code) ^ 0x55;
  }
  return out;
}

function buildTable(decode: (byte: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let b = 0; b < 256; b++) table[b] = decode(b);
  return table;
}

function lookup(bytes: Uint8Array, table: Int16Array): Int16Array {
  const out = new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = table[bytes[i]];
  return out;
}
