import { hasErrorCode } from '@echopanel/plugin-api';
import { StreamCuts } from './stream-cuts.js';

async function* ticks(signal: AbortSignal): AsyncGenerator<number> {
  for (let i = 0; i < 1000 && !signal.aborted; i++) {
    yield i;
    await new Promise((r) => setImmediate(r));
  }
}

describe('StreamCuts', () => {
  it('cutAll() ends a running stream with ABORTED naming the provider; a caller abort ends it quietly', async () => {
    const cuts = new StreamCuts('acme');
    const seen: number[] = [];
    const cutRun = (async () => {
      for await (const n of cuts.run(undefined, ticks)) if (seen.push(n) === 3) cuts.cutAll();
    })();
    const err = await cutRun.then(() => undefined, (e: unknown) => e);
    expect(hasErrorCode(err, 'ABORTED')).toBe(true);
    expect((err as Error).message).toBe('acme was unloaded during the stream');
    expect(seen).toEqual([0, 1, 2]);

    const ac = new AbortController();
    const quiet: number[] = [];
    for await (const n of cuts.run(ac.signal, ticks)) if (quiet.push(n) === 3) ac.abort();
    expect(quiet).toEqual([0, 1, 2]);
  });

  it('a stream started after the cut runs normally', async () => {
    const cuts = new StreamCuts('acme');
    cuts.cutAll();
    let n = 0;
    for await (const _ of cuts.run(undefined, ticks)) n++;
    expect(n).toBe(1000);
  });
});
