import { type DecodeBatchItem, type DecodeOptions, EchoPanelError, type Segment } from '@echopanel/plugin-api';
import { DecodeScheduler, type DecodePriority, type SchedulerEngine } from './decode-scheduler.js';

/**
 * An engine whose calls finish when the test says so: the scheduler's ordering is what is under test here (the
 * real engines run through it in the provider and server engine tests).
 */
class GatedEngine implements SchedulerEngine {
  readonly calls: string[][] = [];
  private gates: (() => void)[] = [];
  constructor(
    readonly maxBatchSize = 1,
    private readonly failBatches = false,
    readonly parallelDecodes = 1,
  ) {}

  decode = async (pcm: Int16Array, opts: DecodeOptions): Promise<Segment[]> => {
    this.calls.push([opts.prompt ?? '']);
    await this.gate();
    if (opts.prompt === 'bad') throw new EchoPanelError('INVALID_AUDIO', 'bad utterance');
    return [segment(opts.prompt ?? '')];
  };

  decodeBatch = async (items: readonly DecodeBatchItem[]): Promise<Segment[][]> => {
    this.calls.push(items.map((i) => i.opts.prompt ?? ''));
    await this.gate();
    if (this.failBatches) throw new EchoPanelError('INFERENCE_FAILED', 'batch failed');
    return items.map((i) => [segment(i.opts.prompt ?? '')]);
  };

  /** Lets the oldest running call finish. */
  release(): void {
    this.gates.shift()?.();
  }

  get waiting(): number {
    return this.gates.length;
  }

  private gate(): Promise<void> {
    return new Promise((resolve) => this.gates.push(resolve));
  }
}

function segment(text: string): Segment {
  return { text, start: 0, end: 1, isFinal: true };
}

const pcm = new Int16Array(16000);

function submit(s: DecodeScheduler, name: string, priority: DecodePriority, stream: object, extra: { withdraw?: AbortSignal; signal?: AbortSignal } = {}) {
  return s.decode(pcm, { sampleRate: 16000, prompt: name, priority, stream, ...extra });
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error('condition not reached');
}

describe('DecodeScheduler', () => {
  it('serves waiting finals of every stream before partials, and skips the partials while finals wait', async () => {
    const engine = new GatedEngine();
    const s = new DecodeScheduler(engine, { batching: false });
    const [a, b, c] = [{}, {}, {}];
    const first = submit(s, 'a-final-1', 'final', a);
    await until(() => engine.waiting === 1);
    const partialB = submit(s, 'b-partial', 'partial', b);
    const finalC = submit(s, 'c-final', 'final', c);
    const finalA = submit(s, 'a-final-2', 'final', a);
    engine.release();
    await expect(first).resolves.toEqual([segment('a-final-1')]);
    await expect(partialB).rejects.toMatchObject({ code: 'ABORTED', message: expect.stringMatching(/partial decode skipped/) });
    await until(() => engine.waiting === 1);
    engine.release();
    await expect(finalC).resolves.toEqual([segment('c-final')]);
    await until(() => engine.waiting === 1);
    engine.release();
    await expect(finalA).resolves.toEqual([segment('a-final-2')]);
    expect(engine.calls).toEqual([['a-final-1'], ['c-final'], ['a-final-2']]);
    const stats = s.stats();
    expect(stats.skipped.partial).toBe(1);
    expect(stats.calls).toBe(3);
    expect(stats.waitMs.final.count).toBe(3);
  });

  it('runs a partial when no final waits, and skips one that waited past optionalMaxWaitMs', async () => {
    let now = 0;
    const engine = new GatedEngine();
    const s = new DecodeScheduler(engine, { batching: false, optionalMaxWaitMs: 500 }, { now: () => now });
    const final = submit(s, 'final', 'final', {});
    await until(() => engine.waiting === 1);
    const stale = submit(s, 'stale', 'partial', {});
    now += 600;
    const fresh = submit(s, 'fresh', 'partial', {});
    engine.release();
    await final;
    await expect(stale).rejects.toMatchObject({ code: 'ABORTED' });
    await until(() => engine.waiting === 1);
    engine.release();
    await expect(fresh).resolves.toEqual([segment('fresh')]);
  });

  it('withdraws a waiting partial when its stream asks, and leaves a running one alone', async () => {
    const engine = new GatedEngine();
    const s = new DecodeScheduler(engine, { batching: false });
    const ac1 = new AbortController();
    const running = submit(s, 'running', 'partial', {}, { withdraw: ac1.signal });
    await until(() => engine.waiting === 1);
    const ac2 = new AbortController();
    const queued = submit(s, 'queued', 'ahead', {}, { withdraw: ac2.signal });
    ac1.abort();
    ac2.abort();
    await expect(queued).rejects.toMatchObject({ code: 'ABORTED', message: expect.stringMatching(/final ready/) });
    engine.release();
    await expect(running).resolves.toEqual([segment('running')]);
    expect(s.stats().skipped).toEqual({ ahead: 1, partial: 0 });
  });

  it('never runs a decode cancelled while it waits', async () => {
    const engine = new GatedEngine();
    const s = new DecodeScheduler(engine, { batching: false });
    const first = submit(s, 'first', 'final', {});
    await until(() => engine.waiting === 1);
    const ac = new AbortController();
    const cancelled = submit(s, 'cancelled', 'final', {}, { signal: ac.signal });
    ac.abort();
    await expect(cancelled).rejects.toMatchObject({ code: 'ABORTED' });
    engine.release();
    await first;
    await new Promise((r) => setTimeout(r, 20));
    expect(engine.calls).toEqual([['first']]);
  });

  it('batches what waits for a busy engine, finals first, up to the batch size', async () => {
    const engine = new GatedEngine(3);
    const s = new DecodeScheduler(engine, { batching: true, batchWindowMs: 0, maxBatchSize: 8 });
    const first = submit(s, 'first', 'final', {});
    await until(() => engine.waiting === 1);
    const partial = submit(s, 'p1', 'partial', {});
    const finals = ['f1', 'f2', 'f3', 'f4'].map((f) => submit(s, f, 'final', {}));
    engine.release();
    await first;
    // Four finals wait and the provider takes three per call: the engine is behind, the partial is skipped.
    await expect(partial).rejects.toMatchObject({ code: 'ABORTED' });
    await until(() => engine.waiting === 1);
    expect(engine.calls[1]).toEqual(['f1', 'f2', 'f3']);
    engine.release();
    await until(() => engine.waiting === 1);
    expect(engine.calls[2]).toEqual(['f4']);
    engine.release();
    await expect(Promise.all(finals)).resolves.toEqual([[segment('f1')], [segment('f2')], [segment('f3')], [segment('f4')]]);
    expect(s.stats().batchSizes).toEqual({ '1': 2, '3': 1 });
  });

  it('batches finals with finals and partials with partials', async () => {
    const engine = new GatedEngine(3);
    const s = new DecodeScheduler(engine, { batching: true, batchWindowMs: 0 });
    const first = submit(s, 'first', 'final', {});
    await until(() => engine.waiting === 1);
    const rest = [submit(s, 'p1', 'partial', {}), submit(s, 'f1', 'final', {}), submit(s, 'a1', 'ahead', {})];
    engine.release();
    await first;
    await until(() => engine.waiting === 1);
    expect(engine.calls[1]).toEqual(['f1']);
    engine.release();
    await until(() => engine.waiting === 1);
    expect(engine.calls[2]).toEqual(['a1', 'p1']);
    engine.release();
    await expect(Promise.all(rest)).resolves.toEqual([[segment('p1')], [segment('f1')], [segment('a1')]]);
  });

  it('waits the batch window for other active streams, but a lone stream never waits', async () => {
    const engine = new GatedEngine(8);
    const lone = new DecodeScheduler(engine, { batching: true, batchWindowMs: 60_000 });
    const alone = submit(lone, 'alone', 'final', {});
    await until(() => engine.waiting === 1);
    engine.release();
    await alone;

    const s = new DecodeScheduler(engine, { batching: true, batchWindowMs: 80 });
    const [x, y] = [{}, {}];
    // Both streams have been active: an idle engine now waits for the other's utterance.
    for (const [name, stream] of [['x0', x], ['y0', y]] as const) {
      const warm = submit(s, name, 'final', stream);
      await until(() => engine.waiting === 1);
      engine.release();
      await warm;
    }
    await new Promise((r) => setTimeout(r, 10));
    const fromX = submit(s, 'x1', 'final', x);
    await new Promise((r) => setTimeout(r, 20));
    expect(engine.waiting).toBe(0);
    const fromY = submit(s, 'y1', 'final', y);
    await until(() => engine.waiting === 1);
    expect(engine.calls.at(-1)).toEqual(['x1', 'y1']);
    engine.release();
    await Promise.all([fromX, fromY]);
  });

  it('decodes the items of a failed batch one by one: one bad utterance fails alone', async () => {
    const engine = new GatedEngine(4, true);
    const s = new DecodeScheduler(engine, { batching: true, batchWindowMs: 0 });
    const first = submit(s, 'first', 'final', {});
    await until(() => engine.waiting === 1);
    const good = submit(s, 'good', 'final', {});
    const bad = submit(s, 'bad', 'final', {});
    engine.release();
    await first;
    for (let i = 0; i < 3; i++) {
      await until(() => engine.waiting === 1);
      engine.release();
    }
    await expect(good).resolves.toEqual([segment('good')]);
    await expect(bad).rejects.toMatchObject({ code: 'INVALID_AUDIO' });
    expect(engine.calls).toEqual([['first'], ['good', 'bad'], ['good'], ['bad']]);
    expect(s.stats().batchFailures).toBe(1);
  });

  it('does not batch when batching is off or the provider takes one at a time', async () => {
    for (const [engine, settings] of [
      [new GatedEngine(8), { batching: false }],
      [new GatedEngine(1), {}],
    ] as const) {
      const s = new DecodeScheduler(engine, { batching: true, batchWindowMs: 0, ...settings });
      const all = [submit(s, 'a', 'final', {}), submit(s, 'b', 'final', {})];
      for (let i = 0; i < 2; i++) {
        await until(() => engine.waiting === 1);
        engine.release();
      }
      await Promise.all(all);
      expect(engine.calls).toEqual([['a'], ['b']]);
    }
  });

  it('runs as many calls at once as the provider takes, one slot kept from partials', async () => {
    const engine = new GatedEngine(1, false, 2);
    const s = new DecodeScheduler(engine, { batching: false });
    const [a, b, c] = [{}, {}, {}];
    const partialA = submit(s, 'a-partial', 'partial', a);
    await until(() => engine.waiting === 1);
    // The second slot is the finals': another stream's partial waits for the first slot.
    const partialB = submit(s, 'b-partial', 'partial', b);
    await new Promise((r) => setTimeout(r, 20));
    expect(engine.waiting).toBe(1);
    const finalC = submit(s, 'c-final', 'final', c);
    await until(() => engine.waiting === 2);
    expect(engine.calls).toEqual([['a-partial'], ['c-final']]);
    engine.release();
    await partialA;
    await until(() => engine.waiting === 2);
    expect(engine.calls.at(-1)).toEqual(['b-partial']);
    engine.release();
    engine.release();
    await expect(Promise.all([partialB, finalC])).resolves.toEqual([[segment('b-partial')], [segment('c-final')]]);
  });

  it('shares waiting finals out over free slots instead of one large batch', async () => {
    const engine = new GatedEngine(8, false, 2);
    const s = new DecodeScheduler(engine, { batching: true, batchWindowMs: 0 });
    const all = ['f1', 'f2', 'f3', 'f4'].map((f) => submit(s, f, 'final', {}));
    await until(() => engine.waiting === 2);
    expect(engine.calls).toEqual([
      ['f1', 'f2'],
      ['f3', 'f4'],
    ]);
    engine.release();
    engine.release();
    await expect(Promise.all(all)).resolves.toHaveLength(4);
  });

  it('reports the engine load of finals: busy time plus what waits, over wall time', async () => {
    let now = 0;
    const engine = new GatedEngine();
    const s = new DecodeScheduler(engine, { batching: false }, { now: () => now });
    now = 10_000;
    const first = submit(s, 'f', 'final', {});
    await until(() => engine.waiting === 1);
    now += 5_000; // the 1 s utterance took 5 s: the engine was busy half of the last 10 s
    engine.release();
    await first;
    expect(s.stats().load).toBeCloseTo(0.5, 5);
    const queued = [submit(s, 'q1', 'final', {}), submit(s, 'q2', 'final', {})];
    await until(() => engine.waiting === 1);
    // One running, one 1 s utterance waiting (estimated 5 s of engine time): 0.5 + 0.5.
    expect(s.stats().load).toBeCloseTo(1.0, 5);
    engine.release();
    await until(() => engine.waiting === 1);
    engine.release();
    await Promise.all(queued);
  });
});
