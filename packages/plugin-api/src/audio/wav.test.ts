import { decodeWav, encodeWav } from './wav.js';

function wav(format: number, channels: number, bits: number, rate: number, body: Buffer): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + body.length, 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(format, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE((rate * channels * bits) / 8, 28);
  h.writeUInt16LE((channels * bits) / 8, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(body.length, 40);
  return Buffer.concat([h, body]);
}

describe('decodeWav', () => {
  it('round-trips 16-bit mono exactly', () => {
    const pcm = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
    const out = decodeWav(encodeWav(pcm, 16000));
    expect(out.sampleRate).toBe(16000);
    expect(Array.from(out.samples)).toEqual(Array.from(pcm));
  });

  it('mixes stereo to mono and reads 24-bit and float32', () => {
    const stereo = Buffer.alloc(8);
    stereo.writeInt16LE(1000, 0);
    stereo.writeInt16LE(3000, 2);
    stereo.writeInt16LE(-32768, 4);
    stereo.writeInt16LE(-32768, 6);
    expect(Array.from(decodeWav(wav(1, 2, 16, 8000, stereo)).samples)).toEqual([2000, -32768]);
    const s24 = Buffer.from([0x00, 0x00, 0x40, 0x00, 0x00, 0xc0]); // +0.5, -0.5
    expect(Array.from(decodeWav(wav(1, 1, 24, 16000, s24)).samples)).toEqual([16384, -16384]);
    const f32 = Buffer.alloc(8);
    f32.writeFloatLE(0.25, 0);
    f32.writeFloatLE(2, 4); // clipped
    expect(Array.from(decodeWav(wav(3, 1, 32, 16000, f32)).samples)).toEqual([8192, 32767]);
  });

  it('names what a non-WAV upload looks like, and rejects other codecs', () => {
    expect(() => decodeWav(Buffer.from('ID3\x04\x00\x00\x00\x00'))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_AUDIO_FORMAT', message: expect.stringContaining('MP3') }));
    expect(() => decodeWav(Buffer.from('OggS\x00\x02\x00\x00'))).toThrow(expect.objectContaining({ message: expect.stringContaining('Ogg') }));
    expect(() => decodeWav(wav(85, 1, 16, 16000, Buffer.alloc(4)))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_AUDIO_FORMAT' }));
    expect(() => decodeWav(Buffer.from('RIFF\x04\x00\x00\x00WAVE'))).toThrow(expect.objectContaining({ code: 'INVALID_AUDIO' }));
  });
});
