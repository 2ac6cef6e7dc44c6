import { EchoPanelError } from '@echopanel/plugin-api';

/**
 * Lets a provider's `unload()` end the streams running on it. Each stream runs under a signal that also aborts
 * when the provider is unloaded: the inference in flight is cancelled (ABORTED is never retried, so the engine is
 * not started again behind the host's back) and the stream ends with ABORTED, so its client hears that the
 * transcript was cut. Internal reloads (a model switch, an idle offload, a timeout recovery) do not cut streams.
 */
export class StreamCuts {
  private readonly open = new Set<AbortController>();

  constructor(private readonly provider: string) {}

  /** Ends every running stream; call it from `unload()`. */
  cutAll(): void {
    for (const cut of this.open) cut.abort(new EchoPanelError('ABORTED', `${this.provider} was unloaded during the stream`));
    this.open.clear();
  }

  /**
   * Runs one stream's body under a signal that aborts on the caller's `signal` (the stream ends quietly) or on
   * {@link cutAll} (the stream throws ABORTED).
   */
  async *run<T>(signal: AbortSignal | undefined, body: (signal: AbortSignal) => AsyncIterable<T>): AsyncGenerator<T> {
    const cut = new AbortController();
    this.open.add(cut);
    const wasCut = () => cut.signal.aborted && !signal?.aborted;
    try {
      yield* body(signal ? AbortSignal.any([signal, cut.signal]) : cut.signal);
    } catch (err) {
      throw wasCut() ? cut.signal.reason : err;
    } finally {
      this.open.delete(cut);
    }
    if (wasCut()) throw cut.signal.reason;
  }
}
