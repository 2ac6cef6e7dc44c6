import { EchoPanelError } from '../errors/echopanel-error.js';
import { floatToInt16 } from './pcm.js';

/** Decoded PCM audio: interleaved channels folded to mono s16. */
export interface PcmAudio {
  readonly sampleRate: number;
  /** Mono signed 16-bit samples. */
  readonly samples: Int16Array;
  /** Channels in the source file (mixed down to mono). */
  readonly sourceChannels: number;
  readonly sourceBitsPerSample: number;
}

const RIFF = 0x46464952; // 'RIFF' little-endian
const WAVE = 0x45564157;

/**
 * Decodes a RIFF/WAVE buffer: PCM 8/16/24/32-bit or IEEE float 32, any channel count (mixed to mono).
 * Anything else (MP3, Ogg, WAV with another codec) fails with UNSUPPORTED_AUDIO_FORMAT and says what it is.
 */
export function decodeWav(buf: Uint8Array): PcmAudio {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < 12 || view.getUint32(0, true) !== RIFF || view.getUint32(8, true) !== WAVE) {
    throw new EchoPanelError('UNSUPPORTED_AUDIO_FORMAT', `not a WAV file (${sniffContainer(buf)}); send 16-bit PCM WAV`);
  }
  let offset = 12;
  let fmt: { format: number; channels: number; sampleRate: number; bits: number } | undefined;
  let data: Uint8Array | undefined;
  while (offset + 8 <= buf.byteLength) {
    const id = String.fromCharCode(buf[offset], buf[offset + 1], buf[offset + 2], buf[offset + 3]);
    let size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16) throw new EchoPanelError('INVALID_AUDIO', 'WAV fmt chunk is too short');
      let format = view.getUint16(body, true);
      if (format === 0xfffe && size >= 40) format = view.getUint16(body + 24, true); // WAVE_FORMAT_EXTENSIBLE
      fmt = {
        format,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      // Streamed WAVs may carry 0 or 0xFFFFFFFF as the data size: take what is there.
      if (size === 0 || size === 0xffffffff || body + size > buf.byteLength) size = buf.byteLength - body;
      data = buf.subarray(body, body + size);
      break;
    }
    offset = body + size + (size & 1);
  }
  if (!fmt) throw new EchoPanelError('INVALID_AUDIO', 'WAV has no fmt chunk');
  if (!data) throw new EchoPanelError('INVALID_AUDIO', 'WAV has no data chunk');
  if (fmt.channels < 1) throw new EchoPanelError('INVALID_AUDIO', 'WAV declares 0 channels');
  if (fmt.sampleRate < 1000 || fmt.sampleRate > 384000) {
    throw new EchoPanelError('INVALID_AUDIO', `WAV sample rate ${fmt.sampleRate} Hz is not plausible`);
  }
  const isFloat = fmt.format === 3;
  if (!(fmt.format === 1 || (isFloat && fmt.bits === 32)) || ![8, 16, 24, 32].includes(fmt.bits)) {
    throw new EchoPanelError(
      'UNSUPPORTED_AUDIO_FORMAT',
      `WAV codec ${fmt.format} with ${fmt.bits}-bit samples is not supported; use PCM (8/16/24/32-bit) or float32`,
    );
  }
  const bytes = fmt.bits / 8;
  const frameBytes = bytes * fmt.channels;
  const frames = Math.floor(data.byteLength / frameBytes);
  const out = new Int16Array(frames);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (!isFloat && bytes === 2 && fmt.channels === 1) {
    for (let i = 0; i < frames; i++) out[i] = dv.getInt16(i * 2, true);
    return { sampleRate: fmt.sampleRate, samples: out, sourceChannels: 1, sourceBitsPerSample: 16 };
  }
  for (let i = 0; i < frames; i++) {
    let acc = 0;
    for (let c = 0; c < fmt.channels; c++) {
      const p = i * frameBytes + c * bytes;
      let v: number;
      if (isFloat) v = dv.getFloat32(p, true);
      else if (bytes === 2) v = dv.getInt16(p, true) / 32768;
      else if (bytes === 1) v = (dv.getUint8(p) - 128) / 128;
      else if (bytes === 3) v = ((dv.getUint8(p) | (dv.getUint8(p + 1) << 8) | (dv.getInt8(p + 2) << 16)) / 8388608);
      else v = dv.getInt32(p, true) / 2147483648;
      acc += v;
    }
    out[i] = floatToInt16(acc / fmt.channels);
  }
  return { sampleRate: fmt.sampleRate, samples: out, sourceChannels: fmt.channels, sourceBitsPerSample: fmt.bits };
}

/** Encodes mono s16 PCM as a WAV file. */
export function encodeWav(samples: Int16Array, sampleRate: number): Buffer {
  const out = Buffer.alloc(44 + samples.byteLength);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + samples.byteLength, 4);
  out.write('WAVEfmt ', 8, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(samples.byteLength, 40);
  Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).copy(out, 44);
  return out;
}

/** Names a container from its magic bytes, for error messages. */
export function sniffContainer(buf: Uint8Array): string {
  const ascii = (a: number, b: number) => String.fromCharCode(...buf.subarray(a, b));
  if (buf.byteLength >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'looks like WAV';
  if (buf.byteLength >= 3 && ascii(0, 3) === 'ID3') return 'looks like MP3';
  if (buf.byteLength >= 2 && buf[0] === 0xff && (buf[1] & 0xe0) === 0xe0) return 'looks like MP3/AAC';
  if (buf.byteLength >= 4 && ascii(0, 4) === 'OggS') return 'looks like Ogg';
  if (buf.byteLength >= 4 && ascii(0, 4) === 'fLaC') return 'looks like FLAC';
  if (buf.byteLength >= 8 && ascii(4, 8) === 'ftyp') return 'looks like MP4/M4A';
  if (buf.byteLength >= 4 && buf[0] === 0x1a && buf[1] === 0x45 && buf[2] === 0xdf && buf[3] === 0xa3) return 'looks like WebM/Matroska';
  if (buf.byteLength === 0) return 'empty';
  return 'unknown container';
}
