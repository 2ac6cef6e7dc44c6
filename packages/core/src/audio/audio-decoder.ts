import { spawn } from 'node:child_process';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EchoPanelError, sniffContainer } from '@echopanel/plugin-api';
import type { PcmRecording } from './pcm-recording.js';

/** What the file holds, as FFmpeg reads it. */
export interface AudioSourceInfo {
  /** Container as FFmpeg names it (`mp3`, `mov,mp4,m4a,3gp,3g2,mj2`, `ogg`, `matroska,webm`, `wav`, …). */
  readonly container: string;
  /** The first audio stream's codec (`mp3`, `aac`, `opus`, `vorbis`, `flac`, `pcm_s24le`, …). */
  readonly codec: string;
  readonly sampleRate: number;
  readonly channels: number;
  /** Duration the file declares (its header or FFmpeg's estimate), if any. */
  readonly declaredSeconds?: number;
}

/** A decoded file: 16 kHz mono s16 in a temporary file, read in ranges. {@link dispose} removes it. */
export interface DecodedRecording extends PcmRecording {
  readonly source: AudioSourceInfo;
  /** The decoded PCM (16 kHz mono s16le), for another thread or process to open with {@link openPcmFile}. */
  readonly file: string;
  dispose(): Promise<void>;
}

/** A raw 16 kHz mono s16le file opened for range reads; {@link close} releases it (the file stays). */
export interface PcmFile extends PcmRecording {
  close(): Promise<void>;
}

export interface AudioDecodeOptions {
  /** Longer audio is refused with PAYLOAD_TOO_LARGE (decoding stops there: the cost is bounded). */
  readonly maxSeconds?: number;
  /** Kills FFmpeg and rejects with ABORTED. */
  readonly signal?: AbortSignal;
  /** Where the decoded PCM is written (default the OS temp dir). */
  readonly tmpDir?: string;
  /** A probe already made by {@link probeAudioFile}. */
  readonly source?: AudioSourceInfo;
}

/**
 * Demuxers FFmpeg may use on a file: audio and media containers only. Playlist and reference formats (HLS,
 * concat, …) would make FFmpeg open other files or URLs named inside an upload.
 */
const CONTAINERS = 'wav,w64,mp3,mov,ogg,matroska,flac,aac,aiff,caf,amr,au,wv,ape,asf,avi,flv,mpegts,mpeg,ac3,eac3,dts,truehd,tta,mpc,mpc8';
const OUT_RATE = 16000;

/** The FFmpeg binary (`ECHOPANEL_FFMPEG`, else `ffmpeg` on PATH); ffprobe is looked up beside it. */
export function ffmpegCommand(env: NodeJS.ProcessEnv = process.env): { ffmpeg: string; ffprobe: string } {
  const ffmpeg = env.ECHOPANEL_FFMPEG || 'ffmpeg';
  return { ffmpeg, ffprobe: ffmpeg.includes('/') ? `${path.dirname(ffmpeg)}/ffprobe` : 'ffprobe' };
}

/**
 * Reads what an audio (or video) file holds with ffprobe. A file that is not a container FFmpeg reads, or has
 * no audio track, is UNSUPPORTED_AUDIO_FORMAT naming what was found; a known container that cannot be read
 * (cut short, damaged header) is INVALID_AUDIO.
 */
export async function probeAudioFile(file: string, options: { signal?: AbortSignal } = {}): Promise<AudioSourceInfo> {
  const { ffprobe } = ffmpegCommand();
  const r = await run(ffprobe, ['-v', 'error', '-format_whitelist', CONTAINERS, '-print_format', 'json', '-show_format', '-show_streams', `file:${file}`], options.signal, file);
  if (r.code !== 0) throw await unreadable(file, r.stderr);
  const info = JSON.parse(r.stdout) as ProbeJson;
  const streams = info.streams ?? [];
  const audio = streams.find((s) => s.codec_type === 'audio');
  const container = info.format?.format_name ?? 'unknown';
  const what = info.format?.format_long_name ?? container;
  if (!audio) {
    const others = streams.map((s) => `${s.codec_type ?? 'data'} ${s.codec_name ?? '?'}`).join(', ');
    throw new EchoPanelError('UNSUPPORTED_AUDIO_FORMAT', `the file is ${what} with no audio track (${others || 'no tracks'}); send a file with audio`, {
      details: { container, streams: others },
    });
  }
  const codec = audio.codec_name ?? 'unknown';
  const sampleRate = Number(audio.sample_rate);
  if (!(sampleRate > 0) || !(Number(audio.channels) > 0)) {
    throw new EchoPanelError('UNSUPPORTED_AUDIO_FORMAT', `the ${what} file's audio track (codec ${codec}) is not one FFmpeg can decode`, {
      details: { container, codec },
    });
  }
  const declared = Number(audio.duration ?? info.format?.duration);
  return { container, codec, sampleRate, channels: Number(audio.channels), ...(declared > 0 ? { declaredSeconds: declared } : {}) };
}

/**
 * Decodes any audio FFmpeg reads (mp3, m4a/AAC, Ogg Vorbis/Opus, WebM, FLAC, WAV of any sample format, …) to
 * 16 kHz mono s16 with the soxr resampler, streaming into a temporary file (memory stays bounded however long
 * the file). Errors: UNSUPPORTED_AUDIO_FORMAT (415-class), INVALID_AUDIO (damaged or cut short),
 * PAYLOAD_TOO_LARGE (over `maxSeconds`), ABORTED, DECODER_UNAVAILABLE (FFmpeg missing).
 */
export async function decodeAudioFile(file: string, options: AudioDecodeOptions = {}): Promise<DecodedRecording> {
  const source = options.source ?? (await probeAudioFile(file, options));
  const max = options.maxSeconds ?? Infinity;
  if (source.declaredSeconds !== undefined && source.declaredSeconds > max) throw tooLong(source.declaredSeconds, max, false);
  const dir = await mkdtemp(path.join(options.tmpDir ?? os.tmpdir(), 'echopanel-decode-'));
  let fh: FileHandle | undefined;
  try {
    const out = path.join(dir, 'pcm.s16');
    const { ffmpeg } = ffmpegCommand();
    const limit = Number.isFinite(max) ? ['-t', String(max + 1)] : [];
    // -map 0:a:0: the first audio track only; -ac 1 mixes every channel down; soxr does the rate conversion.
    const args = ['-nostdin', '-v', 'error', '-format_whitelist', CONTAINERS, '-i', `file:${file}`, '-map', '0:a:0', '-vn', '-sn', '-dn'];
    args.push('-af', 'aresample=resampler=soxr', '-ac', '1', '-ar', String(OUT_RATE), ...limit, '-f', 's16le', '-y', out);
    const r = await run(ffmpeg, args, options.signal, file);
    fh = await open(out, 'r').catch(() => undefined);
    const length = fh ? Math.floor((await fh.stat()).size / 2) : 0;
    if (r.code !== 0 && length === 0) throw decodeFailed(source, r.stderr);
    if (length === 0) throw new EchoPanelError('INVALID_AUDIO', `the ${describe(source)} holds no audio samples`, { details: { ...source } });
    if (length > max * OUT_RATE) throw tooLong(length / OUT_RATE, max, true);
    const decoded = length / OUT_RATE;
    const declared = source.declaredSeconds;
    if (declared !== undefined && decoded < declared * 0.9 - 0.25) {
      throw new EchoPanelError(
        'INVALID_AUDIO',
        `the ${describe(source)} declares ${declared.toFixed(2)} s but only ${decoded.toFixed(2)} s could be decoded: the file is cut short or damaged${lastLine(r.stderr)}`,
        { details: { ...source, decodedSeconds: decoded } },
      );
    }
    const pcm = pcmFileReader(fh!, length);
    return {
      ...pcm,
      source,
      file: out,
      async dispose() {
        await pcm.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Opens a 16 kHz mono s16le file (a {@link DecodedRecording.file}) for range reads. */
export async function openPcmFile(file: string): Promise<PcmFile> {
  const fh = await open(file, 'r');
  return pcmFileReader(fh, Math.floor((await fh.stat()).size / 2));
}

function pcmFileReader(handle: FileHandle, length: number): PcmFile {
  return {
    sampleRate: OUT_RATE,
    length,
    async read(start, end) {
      const s = Math.max(0, Math.floor(start));
      const e = Math.min(length, Math.floor(end));
      if (e <= s) return new Int16Array(0);
      const pcm = new Int16Array(e - s);
      await handle.read(new Uint8Array(pcm.buffer), 0, pcm.byteLength, s * 2);
      return pcm;
    },
    close: () => handle.close().catch(() => undefined),
  };
}

interface ProbeJson {
  format?: { format_name?: string; format_long_name?: string; duration?: string };
  streams?: { codec_type?: string; codec_name?: string; sample_rate?: string; channels?: number; duration?: string }[];
}

function describe(s: AudioSourceInfo): string {
  return `${s.container.split(',')[0]} file (${s.codec}, ${s.sampleRate} Hz, ${s.channels} channel${s.channels === 1 ? '' : 's'})`;
}

function tooLong(seconds: number, max: number, atLeast: boolean): EchoPanelError {
  return new EchoPanelError(
    'PAYLOAD_TOO_LARGE',
    `the audio is ${atLeast ? 'more than ' : ''}${formatDuration(atLeast ? max : seconds)} long; server.limits.maxUploadSeconds allows ${formatDuration(max)} (${max} s): split the file or raise the limit`,
    { details: { seconds: atLeast ? undefined : seconds, maxSeconds: max } },
  );
}

function formatDuration(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.round(s % 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${sec} s` : `${s.toFixed(1)} s`;
}

function lastLine(stderr: string): string {
  const line = stderr.trim().split('\n').at(-1)?.trim();
  return line ? ` (ffmpeg: ${line})` : '';
}

/** ffprobe could not open the file: a damaged file of a format we recognize, or not audio at all. */
async function unreadable(file: string, stderr: string): Promise<EchoPanelError> {
  const head = await readHead(file);
  const refused = /\[(\w+) @ [^\]]*\] Format not on whitelist/.exec(stderr)?.[1];
  if (refused) {
    return new EchoPanelError('UNSUPPORTED_AUDIO_FORMAT', `the file is a ${refused} file, which is not accepted as audio; send mp3, m4a, ogg, webm, flac or wav`, {
      details: { container: refused },
    });
  }
  const sniffed = sniffContainer(head);
  if (sniffed.startsWith('looks like')) {
    return new EchoPanelError('INVALID_AUDIO', `the file ${sniffed} but cannot be read: it is damaged or cut short${lastLine(stderr)}`, {
      details: { found: sniffed },
    });
  }
  const bytes = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return new EchoPanelError(
    'UNSUPPORTED_AUDIO_FORMAT',
    `the file is not audio FFmpeg can read (${head.byteLength === 0 ? 'it is empty' : `no known container; it starts with bytes ${bytes}`}); send mp3, m4a, ogg, webm, flac or wav`,
    { details: { found: sniffed } },
  );
}

function decodeFailed(source: AudioSourceInfo, stderr: string): EchoPanelError {
  if (/Decoder \(codec [^)]*\) not found|Decoding requested, but no decoder found|not supported/i.test(stderr)) {
    return new EchoPanelError('UNSUPPORTED_AUDIO_FORMAT', `the ${describe(source)} uses a codec this FFmpeg cannot decode${lastLine(stderr)}`, {
      details: { ...source },
    });
  }
  return new EchoPanelError('INVALID_AUDIO', `no audio could be decoded from the ${describe(source)}: it is damaged${lastLine(stderr)}`, {
    details: { ...source },
  });
}

async function readHead(file: string): Promise<Uint8Array> {
  const fh = await open(file, 'r');
  try {
    const buf = new Uint8Array(64);
    const { bytesRead } = await fh.read(buf, 0, buf.byteLength, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs an FFmpeg tool; a missing binary is DECODER_UNAVAILABLE, an abort kills it and rejects with ABORTED.
 * `input`'s path is taken out of stderr (messages reach clients; a server's temp paths are none of theirs).
 */
function run(cmd: string, args: string[], signal?: AbortSignal, input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted());
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    // The tail is what names the problem; a damaged file can make FFmpeg print a line per packet.
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8192)));
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      reject(
        err.code === 'ENOENT'
          ? new EchoPanelError(
              'DECODER_UNAVAILABLE',
              `${cmd} is not installed, so audio files cannot be decoded: install FFmpeg (apt-get install ffmpeg; npm start does it when run as root) or set ECHOPANEL_FFMPEG to the ffmpeg binary`,
              { cause: err },
            )
          : err,
      );
    });
    child.once('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(aborted());
      else resolve({ code, stdout, stderr: input ? stderr.split(`file:${input}: `).join('').split(input).join('input') : stderr });
    });
  });
}

function aborted(): EchoPanelError {
  return new EchoPanelError('ABORTED', 'decoding was cancelled (the client went away)');
}

/** Whether FFmpeg can be run (for startup checks and `doctor`). */
export async function ffmpegAvailable(): Promise<boolean> {
  try {
    return (await run(ffmpegCommand().ffmpeg, ['-hide_banner', '-version'])).code === 0;
  } catch {
    return false;
  }
}
