import {
  EchoPanelError,
  pcmFrames,
  type Segment,
  type TranscribeOptions,
  type TranscriptionEvent,
} from '@echopanel/plugin-api';
import { CountingProvider } from '../lifecycle/counting-provider.fixture.js';
import { DegradeLadder } from './degrade-ladder.js';
import { createProviderDegradeActions } from './degrade-actions.js';
import { FailoverProvider } from './failover-provider.js';
import { bindFailoverToLadder } from './bind-failover.js';
import { FakeClock } from './fake-clock.fixture.js';
import { ModelManager } from '../lifecycle/model-manager.js';

const RATE = 16000;

/** Non-silent audio whose every sample is distinct per second, so we can check what each provider got. */
function speechlike(seconds: number): Int16Array {
  const pcm = new Int16Array(seconds * RATE);
  for (let i = 0; i < pcm.length; i++) pcm[i] = 1000 + Math.floor(i / RATE) * 10 + (i % 7);
  return pcm;
}

async function run(p: FailoverProvider, audio: AsyncIterable<Int16Array>, extra: Partial<TranscribeOptions> = {}) {
  const events: TranscriptionEvent[] = [];
  const segments: Segment[] = [];
  for await (const s of p.transcribe(audio, { sampleRate: RATE, onEvent: (e) => events.push(e), ...extra })) segments.push(s);
  const sum = (t: string) => events.filter((e) => e.type === t).reduce((a, e) => a + ('samples' in e ? e.samples : 0), 0);
  return { events, segments, transcribed: sum('transcribed'), skipped: sum('skipped'), dropped: sum('dropped') };
}

function pair(opts: { errorsBeforeFailover?: number; chunk?: number } = {}) {
  const primary = new CountingProvider({ name: 'primary', chunkSeconds: opts.chunk ?? 1 });
  const fallback = new CountingProvider({ name: 'fallback', chunkSeconds: opts.chunk ?? 1 });
  const fp = new FailoverProvider({ primary, fallback, errorsBeforeFailover: opts.errorsBeforeFailover ?? 3 });
  return { primary, fallback, fp };
}

describe('FailoverProvider', () => {
  it('fails over mid-stream after N consecutive errors and loses no sample: the failed chunks are redone by the fallback', async () => {
    const { primary, fallback, fp } = pair();
    await fp.load();
    expect(fallback.loaded).toBe(false);
    const err = (n: number) => new EchoPanelError('INFERENCE_FAILED', `engine error ${n}`);
    primary.decodeFailures = [undefined, undefined, err(1), err(2), err(3)];
    const pcm = speechlike(10);
    const r = await run(fp, pcmFrames(pcm, 1600));
    expect(r.transcribed).toBe(pcm.length);
    expect(r.dropped).toBe(0);
    expect(primary.decodedSamples + fallback.decodedSamples).toBe(pcm.length);
    expect(primary.decodedSamples).toBe(2 * RATE);
    expect(r.segments.map((s) => [s.text, s.start, s.end])).toEqual([
      ['primary heard 16000 samples', 0, 1],
      ['primary heard 16000 samples', 1, 2],
      ...Array.from({ length: 8 }, (_, i) => ['fallback heard 16000 samples', i + 2, i + 3]),
    ]);
    // The three errors are reported as recovered, with one restart naming the move.
    expect(r.events.filter((e) => e.type === 'error').map((e) => e.type === 'error' && e.recovered)).toEqual([true, true, true]);
    const restarts = r.events.filter((e) => e.type === 'restart');
    expect(restarts).toHaveLength(1);
    expect(restarts[0].type === 'restart' && restarts[0].reason).toMatch(/^moved to fallback at 2\.000 s: 3 consecutive errors on primary/);
    expect(fp.active).toBe('fallback');
    expect(fp.name).toBe('fallback');
    expect(fp.health().failover).toMatchObject({ active: 'fallback', failovers: 1, primary: 'primary', fallback: 'fallback' });
  });

  it('errors below the threshold stay dropped (and counted) on the primary', async () => {
    const { primary, fallback, fp } = pair();
    await fp.load();
    primary.decodeFailures = [undefined, new EchoPanelError('INFERENCE_FAILED', 'one bad chunk'), undefined];
    const pcm = speechlike(4);
    const r = await run(fp, pcmFrames(pcm, 1000));
    expect(r.transcribed + r.dropped).toBe(pcm.length);
    expect(r.dropped).toBe(RATE);
    expect(fallback.decodes).toBe(0);
    expect(r.events.find((e) => e.type === 'error')).toMatchObject({ recovered: false, message: 'one bad chunk' });
  });

  it('moves a stream whose chunk is in flight when the pair fails over, replaying that chunk and the buffer', async () => {
    const { primary, fallback, fp } = pair();
    await fp.load();
    primary.decodeDelayMs = 150;
    const pcm = speechlike(6);
    let fed = 0;
    async function* live() {
      for (let i = 0; i < pcm.length; i += 1600) {
        fed += Math.min(1600, pcm.length - i);
        yield pcm.subarray(i, i + 1600);
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    // Fail over while the primary is decoding chunk 2 (its decode started, 150 ms to go).
    const watcher = setInterval(() => {
      if (primary.decodes === 2) {
        clearInterval(watcher);
        void fp.failover('operator asked');
      }
    }, 1);
    const r = await run(fp, live());
    clearInterval(watcher);
    expect(primary.decodes).toBe(2);
    expect(primary.decodedSamples).toBe(RATE);
    expect(fallback.decodedSamples).toBe(5 * RATE);
    expect(fed).toBe(pcm.length);
    expect(r.transcribed).toBe(pcm.length);
    expect(r.dropped).toBe(0);
    expect(primary.decodedSamples + fallback.decodedSamples).toBe(pcm.length);
    // Segment times tile the stream exactly.
    const spans = r.segments.map((s) => [s.start, s.end]);
    expect(spans).toEqual(Array.from({ length: 6 }, (_, i) => [i, i + 1]));
    expect(r.segments.at(-1)?.text).toBe('fallback heard 16000 samples');
  });

  it('an unrecoverable crash of the primary moves the stream with everything not yet accounted for', async () => {
    const primary = new CountingProvider({ name: 'primary', chunkSeconds: 1 });
    const fallback = new CountingProvider({ name: 'fallback', chunkSeconds: 1 });
    // The primary's worker dies after two chunks and its transcribe() throws (its own restart failed).
    const inner = primary.transcribe.bind(primary);
    primary.transcribe = (audio, opts) =>
      (async function* () {
        let chunks = 0;
        for await (const s of inner(audio, opts)) {
          yield s;
          if (++chunks === 2) throw new EchoPanelError('WORKER_CRASHED', 'worker exited with signal SIGKILL');
        }
      })();
    const fp = new FailoverProvider({ primary, fallback });
    await fp.load();
    const pcm = speechlike(5);
    const r = await run(fp, pcmFrames(pcm, 3000));
    expect(r.transcribed).toBe(pcm.length);
    expect(r.dropped).toBe(0);
    expect(r.segments.map((s) => s.text.split(' ')[0])).toEqual(['primary', 'primary', 'fallback', 'fallback', 'fallback']);
    expect(fp.health().failover?.lastSwitch?.reason).toContain('WORKER_CRASHED: worker exited with signal SIGKILL');
  });

  it('without a usable fallback the failed chunks are dropped and counted, and the stream carries on', async () => {
    const { primary, fallback, fp } = pair({ errorsBeforeFailover: 2 });
    await fp.load();
    fallback.loadFailures = [new EchoPanelError('MODEL_NOT_FOUND', 'no fallback weights')];
    primary.decodeFailures = [new Error('x'), new Error('y')];
    const pcm = speechlike(4);
    const r = await run(fp, pcmFrames(pcm, 1600));
    expect(r.transcribed + r.dropped).toBe(pcm.length);
    expect(r.dropped).toBe(2 * RATE);
    expect(fp.active).toBe('primary');
    expect(r.events.some((e) => e.type === 'error' && e.code === 'FAILOVER_FAILED')).toBe(true);
  });

  it('decode() fails over on the Nth consecutive error and answers from the fallback', async () => {
    const { primary, fp } = pair({ errorsBeforeFailover: 2 });
    await fp.load();
    primary.failAllDecodes = new EchoPanelError('INFERENCE_TIMEOUT', 'took too long');
    const pcm = speechlike(1);
    await expect(fp.decode(pcm, { sampleRate: RATE })).rejects.toThrow('took too long');
    const segs = await fp.decode(pcm, { sampleRate: RATE, offsetSeconds: 3 });
    expect(segs[0]).toMatchObject({ text: 'fallback heard 16000 samples', start: 3, end: 4 });
    expect(fp.active).toBe('fallback');
  });

  it('a primary that fails to load starts on the fallback', async () => {
    const { primary, fp } = pair();
    primary.loadFailures = [new EchoPanelError('WORKER_START_FAILED', 'python not found')];
    await fp.load();
    expect(fp.active).toBe('fallback');
    expect((await fp.decode(speechlike(1), { sampleRate: RATE }))[0].text).toBe('fallback heard 16000 samples');
  });

  it('recovers to the primary only once a probe (availability + tiny decode) passes; a fallback stream moves back at a chunk boundary', async () => {
    const { primary, fallback, fp } = pair();
    await fp.load();
    primary.failAllDecodes = new EchoPanelError('WORKER_CRASHED', 'dead');
    await fp.decode(speechlike(1), { sampleRate: RATE }); // crash → failover, answered by fallback
    expect(fp.active).toBe('fallback');
    expect(await fp.recoverPrimary()).toBe(false);
    primary.failAllDecodes = undefined;
    primary.available = false;
    expect(await fp.recoverPrimary()).toBe(false);
    expect(fp.health().extra?.lastPrimaryProbe).toMatchObject({ ok: false, reason: 'primary is switched off' });
    primary.available = true;

    const pcm = speechlike(6);
    let recovered: Promise<boolean> | undefined;
    async function* live() {
      for (let i = 0; i < pcm.length; i += 1600) {
        if (i === 2 * RATE) recovered = fp.recoverPrimary();
        yield pcm.subarray(i, i + 1600);
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    const r = await run(fp, live());
    expect(await recovered).toBe(true);
    expect(fp.active).toBe('primary');
    expect(r.transcribed).toBe(pcm.length);
    expect(r.dropped).toBe(0);
    const who = r.segments.map((s) => s.text.split(' ')[0]);
    expect(who[0]).toBe('fallback');
    expect(who.at(-1)).toBe('primary');
    expect(r.segments.map((s) => [s.start, s.end])).toEqual(Array.from({ length: 6 }, (_, i) => [i, i + 1]));
    expect(fallback.decodedSamples + primary.decodedSamples).toBeGreaterThanOrEqual(pcm.length);
    expect(fp.health().failover).toMatchObject({ active: 'primary', failovers: 1, recoveries: 1 });
  });

  it('composes with ModelManager on both sides: a fatal crash puts the primary manager in ERROR, the probe retries it', async () => {
    const p = new CountingProvider({ name: 'primary' });
    const f = new CountingProvider({ name: 'fallback' });
    const primary = new ModelManager({ provider: p });
    const fallback = new ModelManager({ provider: f });
    const fp = new FailoverProvider({ primary, fallback });
    await fp.load();
    expect(primary.state).toBe('READY');
    expect(fallback.state).toBe('UNINITIALIZED');
    p.failAllDecodes = new EchoPanelError('WORKER_CRASHED', 'worker exited with code 139');
    const segs = await fp.decode(speechlike(1), { sampleRate: RATE });
    expect(segs[0].text).toBe('fallback heard 16000 samples');
    expect(primary.state).toBe('ERROR');
    expect(fallback.state).toBe('READY');
    expect(await fp.recoverPrimary()).toBe(false); // still crashing: the retry's warmup fails
    expect(primary.state).toBe('ERROR');
    p.failAllDecodes = undefined;
    expect(await fp.recoverPrimary()).toBe(true);
    expect(primary.state).toBe('READY');
    expect(fp.health()).toMatchObject({ provider: 'primary', state: 'READY', failover: { active: 'primary', failovers: 1, recoveries: 1 } });
  });

  it('keeps the ladder in step: a failover by the pair puts it at FAILOVER, a passing probe brings both back', async () => {
    const clock = new FakeClock();
    const { primary, fp } = pair({ errorsBeforeFailover: 1 });
    await fp.load();
    const ladder = new DegradeLadder({ baseline: { chunkSeconds: 1 }, clock, actions: createProviderDegradeActions({ provider: fp, failover: fp }) });
    bindFailoverToLadder(ladder, fp);
    primary.failAllDecodes = new EchoPanelError('INFERENCE_FAILED', 'broken');
    await fp.decode(speechlike(1), { sampleRate: RATE });
    await ladder.tick();
    expect(ladder.level).toBe('FAILOVER');
    clock.at(31);
    await ladder.tick();
    expect(ladder.level).toBe('FAILOVER'); // probe failed: the primary still cannot decode
    primary.failAllDecodes = undefined;
    clock.at(62);
    await ladder.tick();
    expect(ladder.level).toBe('NORMAL');
    expect(fp.active).toBe('primary');
    expect(ladder.health().history.map((c) => `${c.from}>${c.to}`)).toEqual(['NORMAL>FAILOVER', 'FAILOVER>NORMAL']);
  });
});
