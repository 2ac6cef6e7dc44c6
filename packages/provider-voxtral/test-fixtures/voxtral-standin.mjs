#!/usr/bin/env node
/*
 * Test stand-in for antirez/voxtral.c's `voxtral` CLI (Voxtral Mini 4B Realtime). The real binary and its 8.9 GB
 * of weights cannot be had on test machines, so this script reproduces the program's observable interface, as
 * read from its main.c / voxtral.c / voxtral_safetensors.c / voxtral_tokenizer.c:
 *
 * - argument parsing (-d, -i, -I, --alt, --stdin, --from-mic, --debug, --silent, -h) with the same messages and
 *   exit codes (usage on stderr + 1; "-I requires a positive number of seconds"; "Unknown option");
 * - model loading: <dir>/consolidated.safetensors opened and its header checked (same error lines), then
 *   "Loading weights...", "Model loaded." (verbosity >= 1), "Model load: N ms" when VOX_PRINT_TIMINGS is set,
 *   then <dir>/tekken.json opened when the stream is initialised ("Failed to init stream" otherwise);
 * - --stdin: a 4-byte peek ("Not enough data on stdin" + exit 1 when shorter); "RIFF" → the whole input is
 *   buffered until EOF and parsed as 16-bit PCM WAV (any rate, channels mixed, resampled to 16 kHz); otherwise raw
 *   s16le 16 kHz mono, read with fread semantics in blocks of 4096 samples until EOF;
 * - stdout: tokens written without newlines and flushed once per decode step; at EOF one '\n', exit 0;
 * - stderr at exit (verbosity >= 1 or VOX_PRINT_TIMINGS): "Encoder: …" and "Decoder: …" timing lines;
 *   --silent prints nothing but errors.
 *
 * The "acoustic model" is deterministic and derived from the audio only: audio is cut into 80 ms frames (one
 * decoder position of the real model); a run of voiced frames is a word chosen from standin-vocab.json by the
 * run's pitch (400 Hz + 100 Hz × index); 640 ms of silence after a word adds a '.'. Words are split into tokens of
 * up to three characters (" caf", "é"). Text is released only when the encoder runs (after -I seconds of new
 * audio, and at the end), and never before the real model's 6-position (480 ms) decoder delay has passed.
 * What it cannot reproduce: real recognition, --alt alternatives (accepted, never shown), Metal/CUDA lines and
 * the microphone.
 *
 * Test switches (environment):
 *   VOXTRAL_STANDIN_LOAD_MS=n            time the model load takes (default 50)
 *   VOXTRAL_STANDIN_HANG_BEFORE_READY=1  never finish loading (after "Loading weights...")
 *   VOXTRAL_STANDIN_CRASH_AFTER_BYTES=n  die with SIGSEGV once n bytes of stdin have been read
 *   VOXTRAL_STANDIN_HANG_AFTER_BYTES=n   stop reading and writing (but stay alive) once n bytes were read
 *   VOXTRAL_STANDIN_CRASH_ON_LAUNCH=1,3  crash / hang only on these launches (needs VOXTRAL_STANDIN_STATE_DIR)
 *   VOXTRAL_STANDIN_STATE_DIR=dir        launch-<n> marker files; consumed-<n> holds the stdin bytes read so far
 *   VOXTRAL_STANDIN_BLOCK_DELAY_MS=n     compute time per 4096-sample block (a slow engine: stdin backs up)
 *   VOXTRAL_STANDIN_TOKEN_DELAY_MS=n     write tokens one by one with this pause (slow writer)
 *   VOXTRAL_STANDIN_SPLIT_UTF8=1         write every token byte by byte (multi-byte characters split across writes)
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SAMPLE_RATE = 16000;
const TOKEN_SAMPLES = 1280; // one decoder position = 80 ms
const DELAY_TOKENS = 6; // the real model's default delay (480 ms)
const RIGHT_PAD_TOKENS = DELAY_TOKENS + 1 + 10;
const DEFAULT_FEED_CHUNK = 16000;
const SENTENCE_SILENCE_FRAMES = 8;
const VOICED_RMS = 0.02;

const env = process.env;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => {
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
};

function writeAll(fd, data) {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      if (err.code === 'EAGAIN') sleep(1);
      else if (err.code === 'EPIPE') process.exit(141);
      else throw err;
    }
  }
}
const err = (s) => writeAll(2, s);

function readSome(buf, off, len) {
  for (;;) {
    try {
      return fs.readSync(0, buf, off, len, null);
    } catch (e) {
      if (e.code === 'EAGAIN') sleep(1);
      else if (e.code === 'EOF') return 0;
      else throw e;
    }
  }
}

/** fread(): fills `len` bytes unless EOF comes first. */
let bytesRead = 0;
function freadFull(buf, len) {
  let got = 0;
  while (got < len) {
    const n = readSome(buf, got, len - got);
    if (n === 0) break;
    got += n;
    bytesRead += n;
    afterRead();
  }
  return got;
}

// ---- test switches ---------------------------------------------------------------------------------------------
const stateDir = env.VOXTRAL_STANDIN_STATE_DIR;
let launch = 0;
if (stateDir) {
  fs.mkdirSync(stateDir, { recursive: true });
  for (let n = 1; ; n++) {
    try {
      fs.closeSync(fs.openSync(path.join(stateDir, `launch-${n}`), 'wx'));
      launch = n;
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
  }
}
const crashAfter = env.VOXTRAL_STANDIN_CRASH_AFTER_BYTES ? Number(env.VOXTRAL_STANDIN_CRASH_AFTER_BYTES) : undefined;
const crashLaunches = env.VOXTRAL_STANDIN_CRASH_ON_LAUNCH ? env.VOXTRAL_STANDIN_CRASH_ON_LAUNCH.split(',').map(Number) : undefined;
const faultyLaunch = !crashLaunches || crashLaunches.includes(launch);
const crashThisLaunch = crashAfter !== undefined && faultyLaunch;
const hangAfter = env.VOXTRAL_STANDIN_HANG_AFTER_BYTES ? Number(env.VOXTRAL_STANDIN_HANG_AFTER_BYTES) : undefined;
const hangThisLaunch = hangAfter !== undefined && faultyLaunch;
const blockDelay = Number(env.VOXTRAL_STANDIN_BLOCK_DELAY_MS ?? 0);
const tokenDelay = Number(env.VOXTRAL_STANDIN_TOKEN_DELAY_MS ?? 0);
const splitUtf8 = env.VOXTRAL_STANDIN_SPLIT_UTF8 === '1';

function afterRead() {
  if (stateDir) {
    // Written aside and renamed, so a reader never sees a half-written number.
    const file = path.join(stateDir, `consumed-${launch}`);
    fs.writeFileSync(`${file}.tmp`, String(bytesRead));
    fs.renameSync(`${file}.tmp`, file);
  }
  if (crashThisLaunch && bytesRead >= crashAfter) process.kill(process.pid, 'SIGSEGV');
  if (hangThisLaunch && bytesRead >= hangAfter) for (;;) sleep(1000);
}

// ---- CLI (main.c) --------------------------------------------------------------------------------------------------
const prog = process.argv[1];
function usage() {
  err('voxtral.c — Voxtral Realtime 4B speech-to-text\n\n');
  err(`Usage: ${prog} -d <model_dir> (-i <input.wav> | --stdin | --from-mic) [options]\n\n`);
  err('Required:\n');
  err('  -d <dir>      Model directory (with consolidated.safetensors, tekken.json)\n');
  err('  -i <file>     Input WAV file (16-bit PCM, any sample rate)\n');
  err('  --stdin       Read audio from stdin (auto-detect WAV or raw s16le 16kHz mono)\n');
  err('  --from-mic    Capture from default microphone (macOS/Windows only, Ctrl+C to stop)\n');
  err('\nOptions:\n');
  err('  -I <secs>     Encoder processing interval in seconds (default: 2.0)\n');
  err('  --alt <c>     Show alternative tokens within cutoff distance (0.0-1.0)\n');
  err('  --debug       Debug output (per-layer, per-chunk details)\n');
  err('  --silent      No status output (only transcription on stdout)\n');
  err('  -h            Show this help\n');
}

/** C's atof: leading numeric prefix, 0 when there is none. */
const atof = (s) => {
  const v = parseFloat(s);
  return Number.isNaN(v) ? 0 : v;
};

const args = process.argv.slice(2);
let modelDir;
let inputWav;
let verbosity = 1;
let useStdin = false;
let useMic = false;
let interval = -1;
let altCutoff; // validated like the real binary; the stand-in has no alternative tokens to cut
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const hasNext = i + 1 < args.length;
  if (a === '-d' && hasNext) modelDir = args[++i];
  else if (a === '-i' && hasNext) inputWav = args[++i];
  else if (a === '-I' && hasNext) {
    interval = atof(args[++i]);
    if (interval <= 0) {
      err('Error: -I requires a positive number of seconds\n');
      process.exit(1);
    }
  } else if (a === '--alt' && hasNext) {
    altCutoff = atof(args[++i]);
    if (altCutoff < 0 || altCutoff > 1) {
      err('Error: --alt requires a value between 0.0 and 1.0\n');
      process.exit(1);
    }
  } else if (a === '--stdin') useStdin = true;
  else if (a === '--from-mic') useMic = true;
  else if (a === '--debug') verbosity = 2;
  else if (a === '--silent') verbosity = 0;
  else if (a === '-h' || a === '--help') {
    usage();
    process.exit(0);
  } else {
    err(`Unknown option: ${a}\n`);
    usage();
    process.exit(1);
  }
}
if (!modelDir || (!inputWav && !useStdin && !useMic)) {
  usage();
  process.exit(1);
}
if ((inputWav ? 1 : 0) + (useStdin ? 1 : 0) + (useMic ? 1 : 0) > 1) {
  err('Error: -i, --stdin, and --from-mic are mutually exclusive\n');
  process.exit(1);
}
const forceTiming = !!env.VOX_PRINT_TIMINGS && env.VOX_PRINT_TIMINGS !== '' && env.VOX_PRINT_TIMINGS[0] !== '0';

// ---- vox_load --------------------------------------------------------------------------------------------------
const strerror = { ENOENT: 'No such file or directory', EACCES: 'Permission denied', ENOTDIR: 'Not a directory', ENODEV: 'No such device' };
const t0Load = performance.now();
function loadModel(dir) {
  const file = `${dir}/consolidated.safetensors`;
  if (verbosity >= 2) err(`Loading model from ${file}\n`);
  let data;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) {
      // open(O_RDONLY) succeeds on a directory; mmap then fails.
      err(`safetensors_open: mmap failed: ${strerror.ENODEV}\n`);
      return false;
    }
    if (st.size < 8) {
      err('safetensors_open: file too small\n');
      return false;
    }
    const fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(8);
    fs.readSync(fd, head, 0, 8, 0);
    const headerSize = Number(head.readBigUInt64LE(0));
    if (headerSize > st.size - 8) {
      fs.closeSync(fd);
      err('safetensors_open: invalid header size\n');
      return false;
    }
    data = Buffer.alloc(headerSize);
    fs.readSync(fd, data, 0, headerSize, 8);
    fs.closeSync(fd);
  } catch (e) {
    err(`safetensors_open: open failed: ${strerror[e.code] ?? e.message}\n`);
    err(`vox_load: cannot open ${file}\n`);
    return false;
  }
  try {
    JSON.parse(data.toString('utf8'));
  } catch {
    err('safetensors_open: failed to parse header\n');
    err(`vox_load: cannot open ${file}\n`);
    return false;
  }
  if (verbosity >= 1) err('Loading weights...\n');
  if (env.VOXTRAL_STANDIN_HANG_BEFORE_READY === '1') for (;;) sleep(1000);
  sleep(Number(env.VOXTRAL_STANDIN_LOAD_MS ?? 50));
  if (verbosity >= 1) err('Model loaded.\n');
  return true;
}
if (!loadModel(modelDir)) {
  err(`Failed to load model from ${modelDir}\n`);
  process.exit(1);
}
if (forceTiming) err(`Model load: ${Math.round(performance.now() - t0Load)} ms\n`);

// ---- vox_stream_init (tokenizer) ---------------------------------------------------------------------------------
const tekken = `${modelDir}/tekken.json`;
let tokenizerOk = true;
try {
  fs.accessSync(tekken, fs.constants.R_OK);
} catch {
  err(`vox_tokenizer_load: cannot open ${tekken}\n`);
  tokenizerOk = false;
}
if (!tokenizerOk) {
  err('Failed to init stream\n');
  process.exit(1);
}
const vocab = JSON.parse(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'standin-vocab.json'), 'utf8'));

// ---- the stream: analysis, encoder gating, token queue -----------------------------------------------------------
let minNewSamples = 2.0 * SAMPLE_RATE;
let feedChunk = DEFAULT_FEED_CHUNK;
if (interval > 0) {
  minNewSamples = Math.trunc(interval * 100) * 160;
  feedChunk = Math.min(DEFAULT_FEED_CHUNK, Math.max(160, Math.trunc(interval * SAMPLE_RATE)));
}

const stream = {
  frame: new Float32Array(TOKEN_SAMPLES),
  frameFill: 0,
  frameIndex: 0,
  realSamples: 0,
  analysedSamples: 0,
  encodedSamples: 0,
  run: { frames: 0, span: 0, halves: 0 },
  silence: 0,
  wordsSinceDot: 0,
  pending: [], // { text, release (frame index) }
  queue: [], // tokens ready for vox_stream_get
  textTokens: 0,
  steps: 0,
  encoderMs: 0,
  decoderMs: 0,
};

function splitWord(word) {
  const chars = Array.from(word);
  const out = [];
  for (let i = 0; i < chars.length; i += 3) out.push((i === 0 ? ' ' : '') + chars.slice(i, i + 3).join(''));
  return out;
}

function closeRun(atFrame) {
  const run = stream.run;
  if (run.halves > 0) {
    const halfPeriod = run.span / run.halves;
    const freq = SAMPLE_RATE / (2 * halfPeriod);
    const idx = Math.min(vocab.length - 1, Math.max(0, Math.round((freq - 400) / 100)));
    for (const t of splitWord(vocab[idx])) stream.pending.push({ text: t, release: atFrame + DELAY_TOKENS });
    stream.wordsSinceDot++;
  }
  stream.run = { frames: 0, span: 0, halves: 0 };
}

function analyseFrame(frame) {
  let energy = 0;
  let prevSign = 0;
  let first = -1;
  let last = -1;
  let crossings = 0;
  for (let i = 0; i < frame.length; i++) {
    const v = frame[i];
    energy += v * v;
    const s = v > 0 ? 1 : v < 0 ? -1 : 0;
    if (s !== 0) {
      if (prevSign !== 0 && s !== prevSign) {
        if (first < 0) first = i;
        last = i;
        crossings++;
      }
      prevSign = s;
    }
  }
  const idx = stream.frameIndex++;
  if (Math.sqrt(energy / frame.length) > VOICED_RMS) {
    stream.run.frames++;
    if (crossings >= 2) {
      stream.run.span += last - first;
      stream.run.halves += crossings - 1;
    }
    stream.silence = 0;
  } else {
    if (stream.run.frames > 0) closeRun(idx);
    stream.silence++;
    if (stream.silence === SENTENCE_SILENCE_FRAMES && stream.wordsSinceDot > 0) {
      stream.pending.push({ text: '.', release: idx + DELAY_TOKENS });
      stream.wordsSinceDot = 0;
    }
  }
}

function analyse(samples) {
  for (let i = 0; i < samples.length; i++) {
    stream.frame[stream.frameFill++] = samples[i];
    if (stream.frameFill === TOKEN_SAMPLES) {
      analyseFrame(stream.frame);
      stream.frameFill = 0;
    }
  }
  stream.analysedSamples += samples.length;
}

function runEncoderDecoder(force) {
  if (!force && stream.analysedSamples - stream.encodedSamples < minNewSamples) return;
  const t0 = performance.now();
  stream.encodedSamples = stream.analysedSamples;
  const encodedFrames = Math.floor(stream.encodedSamples / TOKEN_SAMPLES);
  stream.encoderMs += performance.now() - t0;
  const t1 = performance.now();
  while (stream.pending.length > 0 && stream.pending[0].release <= encodedFrames) {
    stream.queue.push(stream.pending.shift().text);
    stream.textTokens++;
  }
  stream.steps = encodedFrames;
  stream.decoderMs += performance.now() - t1;
}

function feed(samples) {
  stream.realSamples += samples.length;
  analyse(samples);
  runEncoderDecoder(false);
}

function finish() {
  const align = (TOKEN_SAMPLES - (stream.realSamples % TOKEN_SAMPLES)) % TOKEN_SAMPLES;
  analyse(new Float32Array(align + RIGHT_PAD_TOKENS * TOKEN_SAMPLES));
  if (stream.run.frames > 0) closeRun(stream.frameIndex);
  if (verbosity >= 2) {
    err(`Stream finished: ${stream.realSamples} real samples (${(stream.realSamples / SAMPLE_RATE).toFixed(1)} sec)\n`);
  }
  runEncoderDecoder(true);
  for (const p of stream.pending.splice(0)) {
    stream.queue.push(p.text);
    stream.textTokens++;
  }
}

// ---- drain_tokens: stdout ----------------------------------------------------------------------------------------
let firstToken = true;
function drainTokens() {
  if (stream.queue.length === 0) return;
  const tokens = stream.queue.splice(0).map((t) => {
    if (firstToken) {
      firstToken = false;
      return t.replace(/^ +/, '');
    }
    return t;
  });
  if (splitUtf8) {
    for (const t of tokens) {
      for (const byte of Buffer.from(t, 'utf8')) {
        writeAll(1, Buffer.from([byte]));
        sleep(tokenDelay || 15);
      }
    }
  } else if (tokenDelay > 0) {
    for (const t of tokens) {
      writeAll(1, t);
      sleep(tokenDelay);
    }
  } else {
    writeAll(1, tokens.join(''));
  }
}

function feedAndDrain(samples) {
  for (let off = 0; off < samples.length; off += feedChunk) {
    feed(samples.subarray(off, Math.min(samples.length, off + feedChunk)));
    drainTokens();
  }
}

// ---- WAV (voxtral_audio.c vox_parse_wav_buffer) ------------------------------------------------------------------
function parseWav(buf) {
  if (buf.length < 44 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    err('parse_wav_buffer: not a valid WAV file\n');
    return undefined;
  }
  let channels = 0;
  let rate = 0;
  let bits = 0;
  let format = 0;
  let pcm;
  let p = 12;
  while (p + 8 <= buf.length) {
    const size = buf.readUInt32LE(p + 4);
    if (p + 8 + size > buf.length) break;
    const id = buf.toString('latin1', p, p + 4);
    if (id === 'fmt ' && size >= 16) {
      format = buf.readUInt16LE(p + 8);
      channels = buf.readUInt16LE(p + 10);
      rate = buf.readUInt32LE(p + 12);
      bits = buf.readUInt16LE(p + 22);
    } else if (id === 'data') {
      pcm = buf.subarray(p + 8, p + 8 + size);
    }
    p += 8 + size + (size & 1);
  }
  if (format !== 1 || bits !== 16 || !pcm || channels < 1) {
    err(`parse_wav_buffer: unsupported format (need 16-bit PCM, got fmt=${format} bits=${bits})\n`);
    return undefined;
  }
  const frames = Math.floor(pcm.length / (channels * 2));
  let samples = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += pcm.readInt16LE((i * channels + c) * 2);
    samples[i] = sum / channels / 32768;
  }
  if (rate !== SAMPLE_RATE) {
    const n = Math.floor((frames * SAMPLE_RATE) / rate);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const pos = (i * rate) / SAMPLE_RATE;
      const idx = Math.floor(pos);
      const frac = pos - idx;
      out[i] = idx + 1 < frames ? samples[idx] * (1 - frac) + samples[idx + 1] * frac : idx < frames ? samples[idx] : 0;
    }
    samples = out;
  }
  return samples;
}

// ---- main loop -----------------------------------------------------------------------------------------------------
const t0Run = performance.now();
if (useMic) {
  err('vox_mic_start: no capture device (the stand-in has no microphone)\n');
  process.exit(1);
} else if (useStdin) {
  const hdr = Buffer.alloc(4);
  if (freadFull(hdr, 4) < 4) {
    err('Not enough data on stdin\n');
    process.exit(1);
  }
  if (hdr.toString('latin1') === 'RIFF') {
    const parts = [hdr];
    const chunk = Buffer.alloc(1 << 20);
    for (;;) {
      const n = freadFull(chunk, chunk.length);
      if (n === 0) break;
      parts.push(Buffer.from(chunk.subarray(0, n)));
    }
    const samples = parseWav(Buffer.concat(parts));
    if (!samples) {
      err('Invalid WAV data on stdin\n');
      process.exit(1);
    }
    if (verbosity >= 1) err(`Audio: ${samples.length} samples (${(samples.length / SAMPLE_RATE).toFixed(1)} seconds)\n`);
    feedAndDrain(samples);
  } else {
    if (verbosity >= 2) err('Streaming raw s16le 16kHz mono from stdin\n');
    feed(Float32Array.of(hdr.readInt16LE(0) / 32768, hdr.readInt16LE(2) / 32768));
    drainTokens();
    const raw = Buffer.alloc(4096 * 2);
    const f = new Float32Array(4096);
    for (;;) {
      const got = freadFull(raw, raw.length);
      const n = got >> 1; // fread(…, sizeof(int16_t), 4096, …) counts whole items only
      if (n === 0) break;
      for (let i = 0; i < n; i++) f[i] = raw.readInt16LE(i * 2) / 32768;
      sleep(blockDelay);
      feed(f.subarray(0, n));
      drainTokens();
      if (got < raw.length) break; // short read = EOF
    }
  }
} else {
  let samples;
  try {
    samples = parseWav(fs.readFileSync(inputWav));
  } catch {
    samples = undefined;
  }
  if (!samples) {
    err(`Failed to load ${inputWav}\n`);
    process.exit(1);
  }
  if (verbosity >= 1) err(`Audio: ${samples.length} samples (${(samples.length / SAMPLE_RATE).toFixed(1)} seconds)\n`);
  feedAndDrain(samples);
}
finish();
drainTokens();
writeAll(1, '\n');
if (forceTiming) err(`Wall transcribe: ${Math.round(performance.now() - t0Run)} ms\n`);
if (verbosity >= 1 || forceTiming) {
  const mel = Math.floor(stream.analysedSamples / 160);
  err(`Encoder: ${mel} mel -> ${Math.floor(mel / 8)} tokens (${Math.round(stream.encoderMs)} ms)\n`);
  if (stream.textTokens > 0) {
    const steps = Math.max(1, stream.steps);
    err(
      `Decoder: ${stream.textTokens} text tokens (${steps} steps) in ${Math.round(stream.decoderMs)} ms ` +
        `(prefill 0 ms + ${(steps > 1 ? stream.decoderMs / (steps - 1) : 0).toFixed(1)} ms/step)\n`,
    );
  }
}
process.exit(0);
