import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { hasErrorCode, type PluginContext, type Segment, type TranscriptionEvent } from '@echopanel/plugin-api';
import { normalizeTranscript, processExists, recordingLogger, SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import { voxtralConfigSchema, type VoxtralConfigInput } from './config.js';
import { normalizeWord } from './overlap.js';
import { VoxtralProvider } from './voxtral-provider.js';
import {
  STANDIN,
  collect,
  countingFrames,
  expectedText,
  makeModelDir,
  pluginContext,
  sumSamples,
  tempDir,
  toneWords,
} from './test-support.fixture.js';

const SENTENCES = ['hello', 'world', 'alpha', '.', 'bravo', 'charlie', 'delta', '.', 'echo', 'foxtrot', '.'];

const providers: VoxtralProvider[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.unload()));
});

function makeProvider(config: VoxtralConfigInput = {}, env: Record<string, string> = {}, ctx: Partial<PluginContext> = {}): VoxtralProvider {
  // maxSpeed 8: eight times real time keeps tests short while the stand-in (much faster) never has audio waiting
  // unread in the pipe, so times measured in samples written stay meaningful.
  const parsed = voxtralConfigSchema.parse({ binary: STANDIN, modelDir: makeModelDir(), intervalSeconds: 0.5, maxSpeed: 8, ...config, env });
  const p = new VoxtralProvider(parsed, { ...pluginContext(), ...ctx });
  providers.push(p);
  return p;
}

async function transcribeAll(p: VoxtralProvider, pcm: Int16Array, frameSamples = 1600, signal?: AbortSignal) {
  const events: TranscriptionEvent[] = [];
  const out = await collect(p.transcribe(countingFrames(pcm, frameSamples), { sampleRate: 16000, onEvent: (e) => events.push(e), signal }), events);
  return out;
}

function expectNonOverlapping(finals: readonly Segment[], durationSeconds: number) {
  let prevEnd = 0;
  for (const s of finals) {
    expect(s.start).toBeGreaterThanOrEqual(prevEnd);
    expect(s.end).toBeGreaterThanOrEqual(s.start);
    expect(s.end).toBeLessThanOrEqual(durationSeconds);
    prevEnd = s.end;
  }
}

describe('VoxtralProvider against the voxtral.c stand-in', () => {
  it('transcribes a stream: finals per sentence, every sample accounted, engine timings in health', async () => {
    const p = makeProvider();
    await p.load();
    expect(p.health()).toMatchObject({ state: 'READY', modelResident: true });
    const pcm = toneWords(SENTENCES);
    const r = await transcribeAll(p, pcm);
    expect(r.text).toBe('hello world alpha. bravo charlie delta. echo foxtrot.');
    expect(r.finals.map((s) => s.text)).toEqual(['hello world alpha.', 'bravo charlie delta.', 'echo foxtrot.']);
    expectNonOverlapping(r.finals, pcm.length / 16000);
    // Times come from samples written minus the engine's latency: within half a second of where the sentences
    // really are (lead 0.3 s, words 0.32 s + 0.16 s gap, sentence pause 0.8 s).
    const truth = [
      [0.3, 1.58],
      [2.54, 3.82],
      [4.78, 5.58],
    ];
    r.finals.forEach((s, i) => {
      // The encoder runs once per interval (0.5 s here), so text appears up to one interval late.
      expect(Math.abs(s.start - truth[i][0])).toBeLessThan(0.75);
      expect(Math.abs(s.end - truth[i][1])).toBeLessThan(0.75);
    });
    expect(sumSamples(r.events, 'transcribed')).toBe(pcm.length);
    expect(sumSamples(r.events, 'dropped') + sumSamples(r.events, 'skipped')).toBe(0);
    const h = p.health();
    expect(h.extra).toMatchObject({ streamsServed: 1 });
    expect(h.restarts).toBe(0);
  });

  it('emits partials as text grows, then the final that replaces them', async () => {
    const p = makeProvider({ intervalSeconds: 0.5 });
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
    const r = await transcribeAll(p, toneWords(words));
    expect(r.finals.map((s) => s.text)).toEqual([expectedText(words)]);
    const finalIndex = r.segments.findIndex((s) => s.isFinal);
    const partials = r.segments.slice(0, finalIndex);
    expect(partials.length).toBeGreaterThanOrEqual(2);
    for (const s of partials) {
      expect(s.isFinal).toBe(false);
      expect(expectedText(words).startsWith(s.text)).toBe(true);
    }
    // Partials grow.
    for (let i = 1; i < partials.length; i++) expect(partials[i].text.length).toBeGreaterThan(partials[i - 1].text.length);
  });

  it('cuts a final at a pause even without punctuation', async () => {
    // 2.2 s of silence after "alpha bravo": more than interval + 1 s of audio without new text.
    const p = makeProvider({ intervalSeconds: 0.5 });
    const pcm = toneWords(['alpha', 'bravo'], { tail: 2.2 });
    const tail = toneWords(['charlie'], { lead: 0 });
    const both = new Int16Array(pcm.length + tail.length);
    both.set(pcm);
    both.set(tail, pcm.length);
    const r = await transcribeAll(p, both);
    expect(r.finals.map((s) => s.text)).toEqual(['alpha bravo.', 'charlie.']);
  });

  it('restarts a crashed process, re-sends the unacknowledged audio, and loses nothing', async () => {
    const state = tempDir();
    const pcm = toneWords(SENTENCES);
    const crashAt = Math.floor(pcm.byteLength * 0.6);
    const p = makeProvider(
      { keepWarm: false },
      { VOXTRAL_STANDIN_STATE_DIR: state, VOXTRAL_STANDIN_CRASH_AFTER_BYTES: String(crashAt), VOXTRAL_STANDIN_CRASH_ON_LAUNCH: '1' },
    );
    const r = await transcribeAll(p, pcm);
    expect(r.text).toBe('hello world alpha. bravo charlie delta. echo foxtrot.');
    expect(r.events.filter((e) => e.type === 'restart')).toHaveLength(1);
    expect(r.events.find((e) => e.type === 'restart')).toMatchObject({ reason: expect.stringContaining('SIGSEGV') });
    expect(r.events.find((e) => e.type === 'error')).toMatchObject({ code: 'WORKER_CRASHED', recovered: true });
    expect(sumSamples(r.events, 'transcribed')).toBe(pcm.length);
    expect(sumSamples(r.events, 'dropped')).toBe(0);
    expect(p.health().restarts).toBe(1);
    // The first process really read past the crash point and the second got the replayed audio.
    expect(Number(readFileSync(path.join(state, 'consumed-1'), 'utf8'))).toBeGreaterThanOrEqual(crashAt);
    expect(Number(readFileSync(path.join(state, 'consumed-2'), 'utf8'))).toBeGreaterThan(pcm.byteLength - crashAt);
  });

  it('gives up after restartLimit and reports every received sample as transcribed or dropped', async () => {
    const pcm = toneWords(SENTENCES);
    const p = makeProvider({ restartLimit: 2, keepWarm: false }, { VOXTRAL_STANDIN_CRASH_AFTER_BYTES: String(Math.floor(pcm.byteLength / 2)) });
    const events: TranscriptionEvent[] = [];
    let pulled = 0;
    let error: unknown;
    try {
      for await (const _ of p.transcribe(countingFrames(pcm, 1600, (n) => (pulled = n)), { sampleRate: 16000, onEvent: (e) => events.push(e) })) {
        // drain
      }
    } catch (err) {
      error = err;
    }
    expect(hasErrorCode(error, 'WORKER_CRASHED')).toBe(true);
    expect((error as Error).message).toMatch(/gave up after 2 restart\(s\).*restartLimit is 2/);
    expect(events.filter((e) => e.type === 'restart')).toHaveLength(2);
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'WORKER_CRASHED', recovered: false });
    expect(sumSamples(events, 'dropped')).toBeGreaterThan(0);
    expect(sumSamples(events, 'transcribed') + sumSamples(events, 'dropped')).toBe(pulled);
    expect(p.health()).toMatchObject({ restarts: 2 });
  });

  it('restarts a process that stops reading (hang mid-stream) after stallTimeoutMs', async () => {
    const pcm = toneWords(SENTENCES);
    const p = makeProvider(
      { stallTimeoutMs: 800, keepWarm: false },
      {
        VOXTRAL_STANDIN_STATE_DIR: tempDir(),
        VOXTRAL_STANDIN_HANG_AFTER_BYTES: String(Math.floor(pcm.byteLength / 3)),
        VOXTRAL_STANDIN_CRASH_ON_LAUNCH: '1',
      },
    );
    const r = await transcribeAll(p, pcm);
    // Every word exactly once, in order. Where a segment breaks around the restart depends on timing (one CI run
    // cut between "delta" and its period), so punctuation spacing is not compared here.
    expect(normalizeTranscript(r.text)).toEqual(normalizeTranscript('hello world alpha. bravo charlie delta. echo foxtrot.'));
    expect(r.events.find((e) => e.type === 'error')).toMatchObject({ code: 'INFERENCE_TIMEOUT', recovered: true });
    expect(sumSamples(r.events, 'transcribed')).toBe(pcm.length);
  });

  it('times out a process that never finishes loading, kills it, and says what to change', async () => {
    const p = makeProvider({ readyTimeoutMs: 400 }, { VOXTRAL_STANDIN_HANG_BEFORE_READY: '1' });
    let error: unknown;
    try {
      await p.load();
    } catch (err) {
      error = err;
    }
    expect(hasErrorCode(error, 'INIT_TIMEOUT')).toBe(true);
    expect((error as Error).message).toContain('readyTimeoutMs');
    const pid = (error as { details?: { pid?: number } }).details?.pid;
    expect(pid).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(processExists(pid!)).toBe(false);
    expect(p.health()).toMatchObject({ state: 'ERROR', modelResident: false });
  });

  it('back-pressures a fast producer to the pace of a slow engine, with bounded buffers', async () => {
    const state = tempDir();
    // 40 s of audio; the engine spends 10 ms per 4096-sample block (≈ 25× real time, far slower than the producer).
    const words = Array.from({ length: 60 }, (_, i) => (i % 7 === 6 ? '.' : ['alpha', 'bravo', 'charlie', 'delta'][i % 4]));
    const pcm = toneWords(words, { tail: 10 });
    const p = makeProvider(
      { maxReplaySeconds: 6, replayMarginSeconds: 2, keepWarm: false, maxSpeed: 0 },
      { VOXTRAL_STANDIN_STATE_DIR: state, VOXTRAL_STANDIN_BLOCK_DELAY_MS: '10' },
    );
    let maxLead = 0;
    let maxReplay = 0;
    const consumed = () => {
      try {
        return Number(readFileSync(path.join(state, 'consumed-1'), 'utf8')) / 2;
      } catch {
        return 0;
      }
    };
    const events: TranscriptionEvent[] = [];
    const frames = countingFrames(pcm, 1600, (pulled) => {
      maxLead = Math.max(maxLead, pulled - consumed());
      maxReplay = Math.max(maxReplay, Number(p.health().extra?.replayBufferedSamples ?? 0));
    });
    const r = await collect(p.transcribe(frames, { sampleRate: 16000, onEvent: (e) => events.push(e) }), events);
    // Every word exactly once. (Segment boundaries are not checked: with maxSpeed 0 the pipe is full, audio
    // "written" runs seconds ahead of audio heard, and pauses measured in it are approximate — see README.)
    const words_ = (t: string) => t.split(/\s+/).map(normalizeWord).filter(Boolean);
    expect(words_(r.text)).toEqual(words_(expectedText(words)));
    // What the producer got ahead of the engine is the OS pipe/socket buffer plus one frame — not the stream.
    expect(maxLead).toBeLessThan(160_000);
    expect(maxLead).toBeLessThan(pcm.length / 3);
    expect(maxReplay).toBeLessThanOrEqual(6 * 16000 + 4096);
    expect(sumSamples(events, 'transcribed')).toBe(pcm.length);
  });

  it('is unavailable with the exact reason when the binary is missing', async () => {
    const p = makeProvider({ binary: '/nonexistent/voxtral' });
    const a = await p.availability();
    expect(a).toMatchObject({ available: false, reason: 'voxtral.c executable not found: no executable file at /nonexistent/voxtral' });
    expect(a.hint).toContain('make blas');
    await expect(p.load()).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    const onPath = new VoxtralProvider(voxtralConfigSchema.parse({ binary: 'voxtral-does-not-exist', modelDir: makeModelDir() }), pluginContext());
    expect((await onPath.availability()).reason).toBe('voxtral.c executable not found: no executable file at "voxtral-does-not-exist" on PATH');
  });

  it('is unavailable with the exact reason when the model directory or a model file is missing', async () => {
    const missingDir = makeProvider({ modelDir: '/nonexistent/voxtral-model' });
    const a = await missingDir.availability();
    expect(a.reason).toBe('voxtral model directory /nonexistent/voxtral-model is missing consolidated.safetensors, tekken.json, params.json');
    expect(a.hint).toContain('download_model.sh');
    const noTokenizer = makeProvider({ modelDir: makeModelDir(['tekken.json']) });
    expect((await noTokenizer.availability()).reason).toMatch(/is missing tekken\.json$/);
    expect((await makeProvider().availability()).available).toBe(true);
  });

  it('stops a process that is still loading when unloaded', async () => {
    const p = makeProvider({ stopGraceMs: 5000 }, { VOXTRAL_STANDIN_LOAD_MS: '20000' });
    const loading = p.load().then(
      () => undefined,
      (err: unknown) => err,
    );
    await new Promise((r) => setTimeout(r, 300));
    const pid = p.health().workerPid;
    expect(pid).toBeGreaterThan(0);
    const t0 = performance.now();
    await p.unload();
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(await loading).toMatchObject({ code: 'ABORTED' });
    expect(processExists(pid!)).toBe(false);
    expect(p.health()).toMatchObject({ state: 'UNINITIALIZED', modelResident: false });
  });

  it('decodes multi-byte UTF-8 split across writes', async () => {
    const words = ['café', 'naïve', '東京', '.', '😀', 'zürich', 'señor'];
    const p = makeProvider({}, { VOXTRAL_STANDIN_SPLIT_UTF8: '1', VOXTRAL_STANDIN_TOKEN_DELAY_MS: '3' });
    const r = await transcribeAll(p, toneWords(words));
    expect(r.text).toBe('café naïve 東京. 😀 zürich señor.');
    for (const s of r.segments) expect(s.text).not.toContain('\uFFFD');
  });

  it('reads readiness with --silent too (VOX_PRINT_TIMINGS), and serves sequential streams from a warm process', async () => {
    const p = makeProvider({ silent: true });
    await p.load();
    const first = await transcribeAll(p, toneWords(['alpha', 'bravo']));
    expect(first.text).toBe('alpha bravo.');
    // The next process is started as soon as the stream ends and is loaded before the next stream arrives.
    for (let i = 0; i < 500 && p.health().extra?.warmProcess !== 'ready'; i++) await new Promise((r) => setTimeout(r, 20));
    const warmPid = p.health().workerPid;
    expect(p.health().extra?.warmProcess).toBe('ready');
    const pids: (number | undefined)[] = [];
    const events: TranscriptionEvent[] = [];
    for await (const s of p.transcribe(countingFrames(toneWords(['charlie'])), { sampleRate: 16000, onEvent: (e) => events.push(e) })) {
      if (s) pids.push(p.health().workerPid);
    }
    expect(pids[0]).toBe(warmPid);
    expect(p.health().extra).toMatchObject({ streamsServed: 2 });
  });

  it('starts no spare process for a one-shot host (a CLI command exits after its stream)', async () => {
    const launches = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('launch-')).length;
    const oneShotDir = tempDir();
    const oneShot = makeProvider({}, { VOXTRAL_STANDIN_STATE_DIR: oneShotDir }, { oneShot: true });
    expect((await transcribeAll(oneShot, toneWords(['alpha', 'bravo']))).text).toBe('alpha bravo.');
    expect(oneShot.health().extra?.warmProcess).toBe('none');
    // A resident host (the server) gets its spare at once: the same stream, one launch more.
    const residentDir = tempDir();
    const resident = makeProvider({}, { VOXTRAL_STANDIN_STATE_DIR: residentDir });
    expect((await transcribeAll(resident, toneWords(['alpha', 'bravo']))).text).toBe('alpha bravo.');
    expect(resident.health().extra?.warmProcess).not.toBe('none');
    // Wait for the resident's spare to launch (slow on a loaded machine); the one-shot host had as long to start one.
    const deadline = Date.now() + 20_000;
    while (launches(residentDir) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(launches(residentDir)).toBe(2);
    expect(launches(oneShotDir)).toBe(1);
  });

  it('logs no warning when unload() stops a spare that is still loading', async () => {
    const logger = recordingLogger();
    const p = makeProvider({}, { VOXTRAL_STANDIN_LOAD_MS: '400' }, { logger });
    expect((await transcribeAll(p, toneWords(['alpha']))).text).toBe('alpha.');
    expect(p.health().extra?.warmProcess).toBe('loading');
    await p.unload();
    await new Promise((r) => setTimeout(r, 100));
    expect(logger.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  });

  it('serializes concurrent streams on the one process', async () => {
    const p = makeProvider();
    await p.load();
    const a = transcribeAll(p, toneWords(['alpha', 'bravo', '.', 'charlie']));
    const b = transcribeAll(p, toneWords(['delta', 'echo']));
    await new Promise((r) => setTimeout(r, 50));
    expect(p.health().extra).toMatchObject({ streamQueueDepth: 2 });
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.text).toBe('alpha bravo. charlie.');
    expect(rb.text).toBe('delta echo.');
  });

  it('ends quietly on abort, reporting what was not transcribed as dropped', async () => {
    const p = makeProvider({ keepWarm: false }, { VOXTRAL_STANDIN_BLOCK_DELAY_MS: '20' });
    const pcm = toneWords(SENTENCES, { tail: 5 });
    const ac = new AbortController();
    const events: TranscriptionEvent[] = [];
    let pulled = 0;
    // Abort once 3 s of the 12 s have been taken (independent of how fast the machine is).
    const frames = countingFrames(pcm, 1600, (n) => {
      pulled = n;
      if (n >= 48000) ac.abort();
    });
    const r = await collect(p.transcribe(frames, { sampleRate: 16000, onEvent: (e) => events.push(e), signal: ac.signal }), events);
    expect(r.finals.length).toBeLessThan(3);
    expect(sumSamples(events, 'dropped')).toBeGreaterThan(0);
    expect(events.find((e) => e.type === 'dropped')).toMatchObject({ reason: expect.stringMatching(/abort/i) });
    expect(sumSamples(events, 'transcribed') + sumSamples(events, 'dropped')).toBe(pulled);
  });

  it('ends active streams with ABORTED on unload, accounting for every sample', async () => {
    const p = makeProvider({ keepWarm: false }, { VOXTRAL_STANDIN_BLOCK_DELAY_MS: '20' });
    const events: TranscriptionEvent[] = [];
    let pulled = 0;
    await p.load();
    const run = collect(p.transcribe(countingFrames(toneWords(SENTENCES), 1600, (n) => (pulled = n)), { sampleRate: 16000, onEvent: (e) => events.push(e) }), events);
    run.catch(() => undefined);
    while (pulled < 16000) await new Promise((r) => setTimeout(r, 10));
    const pid = p.health().workerPid!;
    await p.unload();
    await expect(run).rejects.toMatchObject({ code: 'ABORTED', message: 'provider unloaded' });
    expect(processExists(pid)).toBe(false);
    expect(sumSamples(events, 'transcribed') + sumSamples(events, 'dropped')).toBe(pulled);
    expect(events.find((e) => e.type === 'dropped')).toMatchObject({ reason: 'provider unloaded' });
  });

  it('never lets raw audio that starts with the bytes "RIFF" be taken for a WAV file', async () => {
    const words = ['alpha', 'bravo', '.', 'charlie'];
    const tones = toneWords(words);
    const pcm = new Int16Array(tones.length + 2);
    pcm.set([0x4952, 0x4646]); // "RIFF" as s16le
    pcm.set(tones, 2);
    const p = makeProvider({ restartLimit: 0 });
    const r = await transcribeAll(p, pcm);
    expect(r.text).toBe(expectedText(words));
    // Text arrived while streaming (voxtral.c buffers a WAV to EOF, so there would be no partials).
    expect(r.segments.some((s) => !s.isFinal)).toBe(true);
  });

  it('applies degrade-ladder tuning as -I for the next process', async () => {
    const p = makeProvider({ intervalSeconds: 0.5 });
    await p.load();
    expect(p.tuning()).toEqual({ chunkSeconds: 0.5 });
    expect(await p.tune({ chunkSeconds: 1.5, beamSize: 1 })).toEqual({ chunkSeconds: 1.5 });
    expect(p.tuning()).toEqual({ chunkSeconds: 1.5 });
    for (let i = 0; i < 500 && p.health().extra?.warmProcess !== 'ready'; i++) await new Promise((r) => setTimeout(r, 20));
    const pid = p.health().workerPid!;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv.slice(argv.indexOf('-I'), argv.indexOf('-I') + 2)).toEqual(['-I', '1.5']);
    expect(p.health().extra?.intervalSeconds).toBe(1.5);
    expect((await transcribeAll(p, toneWords(['alpha', 'bravo']))).text).toBe('alpha bravo.');
    await expect(p.tune({ chunkSeconds: 0 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  it('streams synthesized speech end to end (the stand-in turns voiced runs into words)', async () => {
    const speech = synthesizeSpeech(SPEECH_SENTENCES[0], { padSeconds: 0.5 });
    const p = makeProvider();
    const r = await transcribeAll(p, speech.samples);
    expect(r.finals.length).toBeGreaterThan(0);
    expect(r.text.split(/\s+/).length).toBeGreaterThanOrEqual(3);
    expectNonOverlapping(r.finals, speech.samples.length / 16000);
    expect(sumSamples(r.events, 'transcribed')).toBe(speech.samples.length);
  });

  it('passes on an error of the audio source, reporting what it had sent', async () => {
    const p = makeProvider();
    const pcm = toneWords(['alpha', 'bravo', 'charlie']);
    const events: TranscriptionEvent[] = [];
    async function* failing() {
      yield pcm.subarray(0, 16000);
      yield pcm.subarray(16000, 24000);
      throw new Error('microphone unplugged');
    }
    await expect(collect(p.transcribe(failing(), { sampleRate: 16000, onEvent: (e) => events.push(e) }), events)).rejects.toThrow('microphone unplugged');
    expect(sumSamples(events, 'transcribed') + sumSamples(events, 'dropped')).toBe(24000);
    expect(events.find((e) => e.type === 'dropped')).toMatchObject({ reason: 'audio source failed: microphone unplugged' });
    // The caller's audio failing is not the engine's failure: nothing restarted.
    expect(p.health().restarts).toBe(0);
  });
});
