import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { seededRandom } from './random.js';
import { fixtureDir } from './speech.js';

/** The FFmpeg the host decodes with (`ECHOPANEL_FFMPEG`, else `ffmpeg` on PATH). */
const ffmpeg = (): string => process.env.ECHOPANEL_FFMPEG || 'ffmpeg';

/** One container/codec an OpenAI client may upload, as FFmpeg encodes it. */
export interface AudioFormat {
  readonly name: string;
  readonly ext: string;
  /** FFmpeg output options (codec, rate, channels). */
  readonly args: readonly string[];
}

/** The speech on every channel at full level (FFmpeg's own upmix would lower it by 3 dB or more). */
const STEREO = ['-af', 'pan=stereo|c0=c0|c1=c0'];

/** Every container/codec the upload path must read, at the rates and channel counts clients send. */
export const AUDIO_FORMATS: readonly AudioFormat[] = [
  { name: 'mp3 44.1 kHz stereo', ext: 'mp3', args: ['-c:a', 'libmp3lame', '-b:a', '96k', '-ar', '44100', ...STEREO] },
  { name: 'm4a AAC 48 kHz', ext: 'm4a', args: ['-c:a', 'aac', '-b:a', '64k', '-ar', '48000'] },
  { name: 'ogg Vorbis 44.1 kHz', ext: 'ogg', args: ['-c:a', 'libvorbis', '-q:a', '3', '-ar', '44100'] },
  { name: 'ogg Opus', ext: 'opus', args: ['-c:a', 'libopus', '-b:a', '32k'] },
  { name: 'webm Opus stereo', ext: 'webm', args: ['-c:a', 'libopus', '-b:a', '48k', ...STEREO] },
  { name: 'flac', ext: 'flac', args: ['-c:a', 'flac'] },
  { name: 'wav u8 8 kHz', ext: 'wav', args: ['-c:a', 'pcm_u8', '-ar', '8000'] },
  { name: 'wav s16 44.1 kHz stereo', ext: 'wav', args: ['-c:a', 'pcm_s16le', '-ar', '44100', ...STEREO] },
  { name: 'wav s24 48 kHz', ext: 'wav', args: ['-c:a', 'pcm_s24le', '-ar', '48000'] },
  { name: 'wav s32', ext: 'wav', args: ['-c:a', 'pcm_s32le'] },
  { name: 'wav float32 48 kHz', ext: 'wav', args: ['-c:a', 'pcm_f32le', '-ar', '48000'] },
  // WAVE_FORMAT_EXTENSIBLE: FFmpeg writes it for more than two channels.
  { name: 'wav extensible 4 ch', ext: 'wav', args: ['-c:a', 'pcm_s16le', '-af', 'pan=4.0|c0=c0|c1=c0|c2=c0|c3=c0'] },
];

/** Encodes `wavPath` with FFmpeg into `format`, cached in the fixture dir by content. Returns the file's path. */
export function encodeAudioFixture(wavPath: string, format: AudioFormat): string {
  const key = createHash('sha256').update(readFileSync(wavPath)).update(JSON.stringify(format.args)).digest('hex').slice(0, 16);
  const out = path.join(fixtureDir(), `format-${key}.${format.ext}`);
  if (!existsSync(out)) {
    const tmp = path.join(fixtureDir(), `tmp-${key}-${process.pid}.${format.ext}`);
    execFileSync(ffmpeg(), ['-nostdin', '-v', 'error', '-y', '-i', wavPath, ...format.args, tmp]);
    renameSync(tmp, out);
  }
  return out;
}

/** A short MP4 with a video track and no audio (FFmpeg's test pattern). */
export function videoWithoutAudio(): string {
  const out = path.join(fixtureDir(), 'video-no-audio.mp4');
  if (!existsSync(out)) {
    const tmp = path.join(fixtureDir(), `tmp-video-${process.pid}.mp4`);
    execFileSync(ffmpeg(), ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=duration=1:size=64x64:rate=10', '-c:v', 'mpeg4', tmp]);
    renameSync(tmp, out);
  }
  return out;
}

/** The first `fraction` of a file's bytes (a download or recording cut short). */
export function truncatedCopy(file: string, fraction: number): Buffer {
  const bytes = readFileSync(file);
  return bytes.subarray(0, Math.floor(bytes.length * fraction));
}

/** `n` deterministic random bytes (not any container). */
export function randomBytes(n: number, seed = 1): Buffer {
  const rnd = seededRandom(seed);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * 256);
  return out;
}

/** Writes `bytes` into the fixture dir under `name` (for the CLI, which reads files). */
export function fixtureFile(name: string, bytes: Uint8Array): string {
  const out = path.join(fixtureDir(), name);
  writeFileSync(out, bytes);
  return out;
}
