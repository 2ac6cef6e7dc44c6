import { EchoPanelError, hasErrorCode, type ModelState, pcmFrames, rms } from '@echopanel/plugin-api';
import { CountingProvider } from './counting-provider.fixture.js';
import { ModelManager, type ModelStateChange } from './model-manager.js';
import { MODEL_STATES, MODEL_TRANSITIONS, assertTransition, isLegalTransition } from './model-state-machine.js';
import { synthesizeWarmupAudio } from './warmup-audio.js';
import { DegradeLadder } from '../degrade/degrade-ladder.js';

function track(m: ModelManager): string[] {
  const seen: string[] = [];
  m.on('state', (e: ModelStateChange) => seen.push(`${e.from}>${e.to}`));
  return seen;
}

const tick = () => new Promise((r) => setImmediate(r));

async function expectCode(p: Promise<unknown>, code: string): Promise<EchoPanelError> {
  try {
    await p;
  } catch (err) {
    if (!hasErrorCode(err, code)) throw new Error(`expected ${code}, got ${String((err as Error)?.message ?? err)}`, { cause: err });
    return err;
  }
  throw new Error(`expected ${code}, but it resolved`);
}

describe('model state machine', () => {
  const legal: [ModelState, ModelState][] = [
    ['UNINITIALIZED', 'LOADING'],
    ['LOADING', 'WARMING_UP'],
    ['LOADING', 'ERROR'],
    ['LOADING', 'UNLOADING'],
    ['WARMING_UP', 'READY'],
    ['WARMING_UP', 'ERROR'],
    ['WARMING_UP', 'UNLOADING'],
    ['READY', 'ERROR'],
    ['READY', 'UNLOADING'],
    ['ERROR', 'LOADING'],
    ['ERROR', 'UNLOADING'],
    ['UNLOADING', 'UNINITIALIZED'],
    ['UNLOADING', 'ERROR'],
  ];

  it('allows exactly the legal transitions and names the illegal ones', () => {
    const key = (a: string, b: string) => `${a}>${b}`;
    const legalSet = new Set(legal.map(([a, b]) => key(a, b)));
    let illegal = 0;
    for (const from of MODEL_STATES) {
      for (const to of MODEL_STATES) {
        const ok = legalSet.has(key(from, to));
        expect(isLegalTransition(from, to)).toBe(ok);
        if (ok) expect(() => assertTransition(from, to)).not.toThrow();
        else {
          illegal++;
          expect(() => assertTransition(from, to)).toThrow(`illegal model state transition ${from} → ${to}`);
        }
      }
    }
    expect(illegal).toBe(36 - 13);
    expect(Object.values(MODEL_TRANSITIONS).flat()).toHaveLength(13);
  });
});

describe('warmup audio', () => {
  it('is deterministic, 2 s at 16 kHz, and loud enough not to be skipped as silence', () => {
    const a = synthesizeWarmupAudio();
    const b = synthesizeWarmupAudio();
    expect(a).toHaveLength(32000);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    for (let i = 0; i < a.length; i += 8000) expect(rms(a.subarray(i, i + 8000))).toBeGreaterThan(0.02);
  });
});

describe('ModelManager', () => {
  it('goes UNINITIALIZED → LOADING → WARMING_UP → READY with one warmup inference at level 2', async () => {
    const p = new CountingProvider();
    const m = new ModelManager({ provider: p });
    const seen = track(m);
    await m.initialize();
    expect(seen).toEqual(['UNINITIALIZED>LOADING', 'LOADING>WARMING_UP', 'WARMING_UP>READY']);
    expect(m.state).toBe('READY');
    expect(p.loads).toBe(1);
    expect(p.decodes).toBe(1);
    expect(p.decodedSamples).toBe(32000);
    const h = m.health();
    expect(h.state).toBe('READY');
    expect(h.modelResident).toBe(true);
    expect(h.loadMs).toBeGreaterThanOrEqual(0);
    expect(h.warmupMs).toBeGreaterThanOrEqual(0);
    expect(typeof h.loadedAt).toBe('string');
    expect((h.extra?.warmup as { levels: { inferences: number }[] }).levels.map((l) => l.inferences)).toEqual([1]);
  });

  it('warms up with 0, 1 and 1+N inferences at levels 1, 2 and 3; without decode() it warms up through transcribe()', async () => {
    for (const [level, expected] of [
      [1, 0],
      [2, 1],
      [3, 5],
    ] as const) {
      const p = new CountingProvider();
      await new ModelManager({ provider: p, warmupLevel: level, warmup: { level3Iterations: 4 } }).initialize();
      expect(p.decodes).toBe(expected);
    }
    const streaming = new CountingProvider({ decode: false, chunkSeconds: 1 });
    await new ModelManager({ provider: streaming }).initialize();
    // The 2 s sentence in chunks of at most 1 s, cut at its pauses.
    expect(streaming.decodes).toBeGreaterThanOrEqual(2);
    expect(streaming.decodedSamples).toBe(32000);
  });

  it('an unavailable provider fails with its own reason and fix, without loading', async () => {
    const p = new CountingProvider();
    p.available = false;
    const m = new ModelManager({ provider: p });
    const err = await expectCode(m.initialize(), 'PROVIDER_UNAVAILABLE');
    expect(err.message).toBe('provider counting is not available: counting is switched off (switch it on)');
    expect(p.loads).toBe(0);
    expect(m.state).toBe('ERROR');
  });

  it('warms up on audio the host supplies', async () => {
    const p = new CountingProvider();
    await new ModelManager({ provider: p, warmup: { audio: new Int16Array(8000).fill(300) } }).initialize();
    expect(p.decodedSamples).toBe(8000);
  });

  it('returns at once when READY', async () => {
    const p = new CountingProvider();
    const m = new ModelManager({ provider: p });
    await m.initialize();
    const seen = track(m);
    await m.initialize();
    expect(seen).toEqual([]);
    expect(p.loads).toBe(1);
  });

  it('shares one initialization between concurrent callers', async () => {
    const p = new CountingProvider();
    p.gateLoads = true;
    const m = new ModelManager({ provider: p });
    const callers = Array.from({ length: 5 }, () => m.initialize());
    await tick();
    expect(p.loads).toBe(1);
    expect(m.state).toBe('LOADING');
    p.releaseLoad();
    await Promise.all(callers);
    expect(p.loads).toBe(1);
    expect(p.decodes).toBe(1);
    expect(m.state).toBe('READY');
  });

  it('releases every waiter with the error when a shared load fails', async () => {
    const p = new CountingProvider();
    p.loadFailures = [new EchoPanelError('MODEL_NOT_FOUND', 'no weights for tiny.en')];
    const m = new ModelManager({ provider: p });
    const seen = track(m);
    const results = await Promise.allSettled([m.initialize(), m.initialize(), m.initialize()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) expect(hasErrorCode((r as PromiseRejectedResult).reason, 'MODEL_NOT_FOUND')).toBe(true);
    expect(p.loads).toBe(1);
    expect(seen).toEqual(['UNINITIALIZED>LOADING', 'LOADING>ERROR']);
    expect(m.health().lastError?.code).toBe('MODEL_NOT_FOUND');
  });

  it('cancels a load that times out: the provider is unloaded and the hung load does not linger', async () => {
    const p = new CountingProvider();
    p.gateLoads = true;
    const m = new ModelManager({ provider: p });
    const seen = track(m);
    const err = await expectCode(m.initialize({ timeoutMs: 50 }), 'INIT_TIMEOUT');
    expect(err.message).toContain('cancelled');
    expect(seen).toEqual(['UNINITIALIZED>LOADING', 'LOADING>ERROR']);
    expect(p.unloads).toBeGreaterThanOrEqual(1);
    expect(p.loadPending).toBe(false);
    expect(p.loaded).toBe(false);
    // ...and a retry loads cleanly.
    p.gateLoads = false;
    await m.retry();
    expect(m.state).toBe('READY');
    expect(p.loaded).toBe(true);
  });

  it('unloads a load that finishes after its timeout', async () => {
    const p = new CountingProvider();
    p.gateLoads = true;
    // This provider's unload cannot interrupt a load (e.g. an in-process engine): emulate by swallowing the cancel.
    const realUnload = p.unload.bind(p);
    let unloadsDuringLoad = 0;
    p.unload = async () => {
      if (p.loadPending) {
        unloadsDuringLoad++;
        p.unloads++;
        return;
      }
      return realUnload();
    };
    const m = new ModelManager({ provider: p });
    await expectCode(m.initialize({ timeoutMs: 30 }), 'INIT_TIMEOUT');
    expect(unloadsDuringLoad).toBe(1);
    p.releaseLoad();
    await tick();
    await tick();
    expect(p.loaded).toBe(false);
    expect(p.unloads).toBe(2);
  });

  it('releases a waiter with a shorter timeout while the shared load continues', async () => {
    const p = new CountingProvider();
    p.gateLoads = true;
    const m = new ModelManager({ provider: p });
    const first = m.initialize({ timeoutMs: 10000 });
    await tick();
    const err = await expectCode(m.initialize({ timeoutMs: 20 }), 'INIT_TIMEOUT');
    expect(err.message).toContain('continues');
    expect(m.state).toBe('LOADING');
    p.releaseLoad();
    await first;
    expect(m.state).toBe('READY');
  });

  it('after an error, initialize() says NOT_READY with the cause; retry() loads again', async () => {
    const p = new CountingProvider();
    p.loadFailures = [new EchoPanelError('WORKER_START_FAILED', 'python not found')];
    const m = new ModelManager({ provider: p });
    const seen = track(m);
    await expectCode(m.initialize(), 'WORKER_START_FAILED');
    const err = await expectCode(m.initialize(), 'NOT_READY');
    expect(err.message).toMatch(/WORKER_START_FAILED: python not found; next automatic retry at \d{4}-/);
    await m.retry();
    expect(seen).toEqual(['UNINITIALIZED>LOADING', 'LOADING>ERROR', 'ERROR>LOADING', 'LOADING>WARMING_UP', 'WARMING_UP>READY']);
    expect(p.loads).toBe(2);
  });

  it('load() (the contract) retries from ERROR, so a failover probe can bring a managed primary back', async () => {
    const p = new CountingProvider();
    p.loadFailures = [new EchoPanelError('WORKER_START_FAILED', 'python not found')];
    const m = new ModelManager({ provider: p });
    await expectCode(m.load(), 'WORKER_START_FAILED');
    await m.load();
    expect(m.state).toBe('READY');
  });

  it('reset() goes ERROR → UNLOADING → UNINITIALIZED and releases the provider', async () => {
    const p = new CountingProvider();
    p.loadFailures = [new Error('boom')];
    const m = new ModelManager({ provider: p });
    await expect(m.initialize()).rejects.toThrow('boom');
    const unloadsBefore = p.unloads;
    const seen = track(m);
    await m.reset();
    expect(seen).toEqual(['ERROR>UNLOADING', 'UNLOADING>UNINITIALIZED']);
    expect(p.unloads).toBeGreaterThan(unloadsBefore);
    await m.initialize();
    expect(m.state).toBe('READY');
  });

  it('refuses retry()/reset() outside ERROR', async () => {
    const m = new ModelManager({ provider: new CountingProvider() });
    await expectCode(m.retry(), 'INVALID_STATE');
    await expectCode(m.reset(), 'INVALID_STATE');
    await m.initialize();
    await expectCode(m.retry(), 'INVALID_STATE');
    await expectCode(m.reset(), 'INVALID_STATE');
  });

  it('fails inference with NOT_READY until READY', async () => {
    const p = new CountingProvider();
    const m = new ModelManager({ provider: p });
    await expectCode(m.decode(new Int16Array(16000), { sampleRate: 16000 }), 'NOT_READY');
    const it = m.transcribe(pcmFrames(new Int16Array(16000)), { sampleRate: 16000 });
    await expectCode(it.next(), 'NOT_READY');
    await m.initialize();
    const segs = await m.decode(new Int16Array(16000).fill(1000), { sampleRate: 16000 });
    expect(segs[0].text).toBe('counting heard 16000 samples');
  });

  it('unload() frees the model and a later initialize() loads it again', async () => {
    const p = new CountingProvider({ residentBytes: 50_000_000 });
    let rss = 100_000_000;
    const m = new ModelManager({ provider: p, processRss: () => rss });
    await m.initialize();
    expect(m.health().memory).toEqual({ processRssBytes: 100_000_000, workerRssBytes: 50_000_000, modelResidentBytes: 50_000_000 });
    const seen = track(m);
    await m.unload();
    expect(seen).toEqual(['READY>UNLOADING', 'UNLOADING>UNINITIALIZED']);
    expect(p.loaded).toBe(false);
    expect(p.unloads).toBe(1);
    rss = 90_000_000;
    const h = m.health();
    expect(h.modelResident).toBe(false);
    expect(h.memory).toEqual({ processRssBytes: 90_000_000, workerRssBytes: 0 });
    await m.unload(); // no-op
    expect(p.unloads).toBe(1);
    await m.initialize();
    expect(p.loads).toBe(2);
    expect(p.loaded).toBe(true);
  });

  it('unload() during LOADING cancels the load and releases its waiters with ABORTED', async () => {
    const p = new CountingProvider();
    p.gateLoads = true;
    const m = new ModelManager({ provider: p });
    const seen = track(m);
    const waiter = m.initialize();
    await tick();
    await m.unload();
    await expectCode(waiter, 'ABORTED');
    expect(seen).toEqual(['UNINITIALIZED>LOADING', 'LOADING>UNLOADING', 'UNLOADING>UNINITIALIZED']);
    expect(p.loaded).toBe(false);
    expect(p.loadPending).toBe(false);
    expect(m.health().errorHistory).toEqual([]);
  });

  it('unload() during WARMING_UP cancels the warmup', async () => {
    const p = new CountingProvider();
    p.decodeDelayMs = 5000;
    const m = new ModelManager({ provider: p });
    const seen = track(m);
    const waiter = m.initialize();
    while (m.state !== 'WARMING_UP') await tick();
    const t0 = Date.now();
    await m.unload();
    await expectCode(waiter, 'ABORTED');
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(seen).toEqual(['UNINITIALIZED>LOADING', 'LOADING>WARMING_UP', 'WARMING_UP>UNLOADING', 'UNLOADING>UNINITIALIZED']);
    expect(p.loaded).toBe(false);
  });

  it('a failing warmup goes WARMING_UP → ERROR and unloads', async () => {
    const p = new CountingProvider();
    p.decodeFailures = [new EchoPanelError('INFERENCE_FAILED', 'bad tensor shape')];
    const m = new ModelManager({ provider: p });
    const seen = track(m);
    const err = await expectCode(m.initialize(), 'INFERENCE_FAILED');
    expect(err.message).toContain('warmup inference failed: bad tensor shape');
    expect(seen).toEqual(['UNINITIALIZED>LOADING', 'LOADING>WARMING_UP', 'WARMING_UP>ERROR']);
    expect(p.loaded).toBe(false);
    expect(m.health().errorHistory?.[0]).toMatchObject({ code: 'INFERENCE_FAILED', phase: 'warmup' });
  });

  it('a warmup level over budget is cut short and reported, and the model still becomes READY', async () => {
    const p = new CountingProvider();
    p.decodeDelayMs = 300;
    const m = new ModelManager({ provider: p, warmupLevel: 3, warmup: { budgetsMs: { level2: 20 } } });
    await m.initialize();
    expect(m.state).toBe('READY');
    const warmup = m.health().extra?.warmup as { levels: { level: number; exceeded: boolean; inferences: number }[] };
    expect(warmup.levels).toEqual([expect.objectContaining({ level: 2, exceeded: true, inferences: 0 })]);
    expect(m.health().errorHistory?.map((e) => e.code)).toEqual(['WARMUP_BUDGET_EXCEEDED']);
  });

  it('an unrecoverable crash during inference goes READY → ERROR', async () => {
    const p = new CountingProvider();
    const m = new ModelManager({ provider: p });
    await m.initialize();
    const seen = track(m);
    p.failAllDecodes = new EchoPanelError('WORKER_CRASHED', 'worker exited with code 137');
    await expectCode(m.decode(new Int16Array(1600), { sampleRate: 16000 }), 'WORKER_CRASHED');
    expect(seen).toEqual(['READY>ERROR']);
    await expectCode(m.decode(new Int16Array(1600), { sampleRate: 16000 }), 'NOT_READY');
    p.failAllDecodes = undefined;
    await m.retry();
    expect(m.state).toBe('READY');
  });

  it('retries a failed load by itself with capped exponential backoff until READY', async () => {
    const p = new CountingProvider();
    p.loadFailures = [1, 2, 3, 4].map((i) => new EchoPanelError('WORKER_START_FAILED', `attempt ${i}`));
    const m = new ModelManager({ provider: p, recovery: { initialDelayMs: 20, maxDelayMs: 80 } });
    const delays: number[] = [];
    m.on('state', (c) => {
      if (c.to === 'ERROR') delays.push(m.recoveryStatus().nextDelayMs!);
    });
    const ready = new Promise<void>((resolve) => m.on('state', (c) => c.to === 'READY' && resolve()));
    await expectCode(m.initialize(), 'WORKER_START_FAILED');
    expect(m.recoveryStatus()).toMatchObject({ enabled: true, consecutiveFailures: 1, nextDelayMs: 20, attempts: 0, nextAttemptAt: expect.any(String) });
    await ready;
    expect(delays).toEqual([20, 40, 80, 80]); // doubling, capped
    expect(p.loads).toBe(5);
    // The READY listener runs before the attempt's own bookkeeping: let it settle.
    await new Promise((r) => setImmediate(r));
    expect(m.recoveryStatus()).toEqual({ enabled: true, consecutiveFailures: 0, attempts: 4, recoveries: 1 });
    await m.unload();
  });

  it('a fatal error while READY recovers by itself; unload() cancels a scheduled retry; disabled stays in ERROR', async () => {
    const p = new CountingProvider();
    const m = new ModelManager({ provider: p, recovery: { initialDelayMs: 10 } });
    await m.initialize();
    const seen = track(m);
    p.failAllDecodes = new EchoPanelError('WORKER_CRASHED', 'worker exited with code 137');
    const back = new Promise<void>((resolve) => m.on('state', (c) => c.to === 'READY' && resolve()));
    await expectCode(m.decode(new Int16Array(1600), { sampleRate: 16000 }), 'WORKER_CRASHED');
    p.failAllDecodes = undefined;
    await back;
    expect(seen).toEqual(['READY>ERROR', 'ERROR>LOADING', 'LOADING>WARMING_UP', 'WARMING_UP>READY']);

    p.loadFailures = [new EchoPanelError('MODEL_NOT_FOUND', 'gone')];
    await m.unload();
    await expectCode(m.initialize(), 'MODEL_NOT_FOUND');
    expect(m.recoveryStatus().nextAttemptAt).toBeDefined();
    await m.unload();
    expect(m.recoveryStatus().nextAttemptAt).toBeUndefined();
    await new Promise((r) => setTimeout(r, 50));
    expect(m.state).toBe('UNINITIALIZED');

    const offProvider = new CountingProvider();
    const off = new ModelManager({ provider: offProvider, recovery: { enabled: false, initialDelayMs: 1 } });
    offProvider.loadFailures = [new EchoPanelError('MODEL_NOT_FOUND', 'gone')];
    await expectCode(off.initialize(), 'MODEL_NOT_FOUND');
    await new Promise((r) => setTimeout(r, 30));
    expect(off.state).toBe('ERROR');
    expect(off.recoveryStatus()).toEqual({ enabled: false, consecutiveFailures: 0, attempts: 0, recoveries: 0 });
  });

  it('an ordinary inference error is recorded but keeps READY', async () => {
    const p = new CountingProvider();
    const m = new ModelManager({ provider: p });
    await m.initialize();
    p.decodeFailures = [new EchoPanelError('INFERENCE_FAILED', 'one bad chunk')];
    await expectCode(m.decode(new Int16Array(1600), { sampleRate: 16000 }), 'INFERENCE_FAILED');
    expect(m.state).toBe('READY');
    expect(m.health().lastError?.message).toBe('one bad chunk');
  });

  it('a failing unload goes UNLOADING → ERROR', async () => {
    const p = new CountingProvider();
    const m = new ModelManager({ provider: p });
    await m.initialize();
    const seen = track(m);
    p.unloadFailure = new EchoPanelError('WORKER_CRASHED', 'worker did not exit');
    await expectCode(m.unload(), 'WORKER_CRASHED');
    expect(seen).toEqual(['READY>UNLOADING', 'UNLOADING>ERROR']);
  });

  it('health() carries the attached ladder level and history', async () => {
    const p = new CountingProvider();
    const m = new ModelManager({ provider: p });
    await m.initialize();
    const ladder = new DegradeLadder({ baseline: { chunkSeconds: 1 }, actions: { setChunkSeconds: (s) => s } });
    m.attachDegrade(ladder);
    await ladder.observe(0.9);
    expect(m.health().degrade).toMatchObject({ level: 'WARNING', activeActions: ['bigger-chunks'], history: [{ from: 'NORMAL', to: 'WARNING' }] });
  });

  it('switching to the serving provider is a no-op (it is not unloaded)', async () => {
    const p = new CountingProvider();
    const m = new ModelManager({ provider: p });
    await m.initialize();
    await m.switchModel(p);
    await tick();
    expect(p.loaded).toBe(true);
    expect(p.unloads).toBe(0);
    expect(m.state).toBe('READY');
  });

  it('refuses a switch while loading', async () => {
    const p = new CountingProvider();
    p.gateLoads = true;
    const m = new ModelManager({ provider: p });
    const init = m.initialize();
    await tick();
    await expectCode(m.switchModel(new CountingProvider({ name: 'other' })), 'INVALID_STATE');
    p.releaseLoad();
    await init;
  });

  it('keeps the last 10 errors with times', async () => {
    const p = new CountingProvider();
    const m = new ModelManager({ provider: p });
    await m.initialize();
    for (let i = 0; i < 12; i++) {
      p.decodeFailures = [new EchoPanelError('INFERENCE_FAILED', `failure ${i}`)];
      await m.decode(new Int16Array(160), { sampleRate: 16000 }).catch(() => undefined);
    }
    const hist = m.health().errorHistory!;
    expect(hist.map((e) => e.message)).toEqual(Array.from({ length: 10 }, (_, i) => `failure ${i + 2}`));
    for (const e of hist) expect(Number.isNaN(Date.parse(e.at))).toBe(false);
  });

  it('switchModel keeps the old model serving in-flight streams, then swaps and unloads it', async () => {
    const oldP = new CountingProvider({ name: 'old', chunkSeconds: 0.5 });
    const newP = new CountingProvider({ name: 'new' });
    const m = new ModelManager({ provider: oldP });
    await m.initialize();
    const switches: string[] = [];
    m.on('switch', (e) => switches.push(`${e.from}>${e.to}`));
    // A live stream on the old model that we feed by hand.
    const frames: (Int16Array | null)[] = [];
    let wake: (() => void) | undefined;
    const push = (f: Int16Array | null) => {
      frames.push(f);
      wake?.();
    };
    async function* live() {
      for (;;) {
        while (!frames.length) await new Promise<void>((r) => (wake = r));
        const f = frames.shift()!;
        if (f === null) return;
        yield f;
      }
    }
    const texts: string[] = [];
    const consuming = (async () => {
      for await (const s of m.transcribe(live(), { sampleRate: 16000 })) texts.push(s.text);
    })();
    push(new Int16Array(8000).fill(500));
    await m.switchModel(newP);
    // The switch has happened but the old model is still loaded for the stream in flight.
    expect(switches).toEqual(['old>new']);
    expect(m.provider).toBe(newP);
    expect(newP.loaded).toBe(true);
    expect((await m.decode(new Int16Array(1600).fill(500), { sampleRate: 16000 }))[0].text).toBe('new heard 1600 samples');
    expect(oldP.loaded).toBe(true);
    push(new Int16Array(8000).fill(500));
    push(null);
    await consuming;
    expect(texts).toEqual(['old heard 8000 samples', 'old heard 8000 samples']);
    for (let i = 0; i < 10 && oldP.loaded; i++) await tick();
    expect(oldP.loaded).toBe(false);
    expect(oldP.unloads).toBe(1);
    expect(m.state).toBe('READY');
  }, 20000);

  it('unload() also releases a replaced model still serving a stream, after drainTimeoutMs', async () => {
    const oldP = new CountingProvider({ name: 'old' });
    const newP = new CountingProvider({ name: 'new' });
    const m = new ModelManager({ provider: oldP, drainTimeoutMs: 50 });
    await m.initialize();
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    async function* endless() {
      yield new Int16Array(1600).fill(100);
      await stopped;
    }
    const stream = (async () => {
      for await (const _ of m.transcribe(endless(), { sampleRate: 16000 })) {
        // nothing
      }
    })();
    await tick();
    await m.switchModel(newP);
    expect(oldP.loaded).toBe(true);
    await m.unload();
    expect(oldP.loaded).toBe(false);
    expect(newP.loaded).toBe(false);
    stop();
    await stream;
  });

  it('switchModel keeps the old model when the new one fails to load', async () => {
    const oldP = new CountingProvider({ name: 'old' });
    const bad = new CountingProvider({ name: 'bad' });
    bad.loadFailures = [new EchoPanelError('MODEL_CORRUPT', 'sha256 mismatch')];
    const m = new ModelManager({ provider: oldP });
    await m.initialize();
    const seen = track(m);
    await expectCode(m.switchModel(() => bad), 'MODEL_CORRUPT');
    expect(m.provider).toBe(oldP);
    expect(m.state).toBe('READY');
    expect(oldP.loaded).toBe(true);
    expect(bad.loaded).toBe(false);
    expect(seen).toEqual([]);
    expect(m.health().errorHistory?.at(-1)).toMatchObject({ code: 'MODEL_CORRUPT', phase: 'switch' });
  });
});
