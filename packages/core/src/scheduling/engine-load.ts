/** How far back the engine's busy time counts toward its load. */
const WINDOW_MS = 10_000;

/**
 * The engine's load as the share of its time it needs for the work that cannot be skipped (finals and
 * recordings, not partials): its busy time on that work over the last 10 s plus the estimated time of what waits
 * for it, over wall time × the calls it runs at once. 1 means it needs all the time there is; above 1 it falls further behind every second. Unlike a
 * per-call RTF it grows with the number of streams sharing one engine.
 */
export class EngineLoad {
  private readonly runs: { end: number; ms: number }[] = [];
  /** Engine ms per second of essential audio (recent average, for estimating what waits). */
  private msPerAudioSecond = 0;
  private readonly firstAt: number;

  /** `slots`: engine calls that run at once (their busy times add up to at most slots × wall time). */
  constructor(
    private readonly now: () => number,
    private readonly slots = 1,
  ) {
    this.firstAt = now();
  }

  /** A finished engine call: `ms` long, of which `essentialAudio` of `totalAudio` seconds could not be skipped. */
  record(ms: number, essentialAudio: number, totalAudio: number): void {
    if (totalAudio <= 0) return;
    const perSecond = ms / totalAudio;
    this.msPerAudioSecond = this.msPerAudioSecond === 0 ? perSecond : 0.8 * this.msPerAudioSecond + 0.2 * perSecond;
    if (essentialAudio > 0) this.runs.push({ end: this.now(), ms: (ms * essentialAudio) / totalAudio });
    this.prune();
  }

  /** Load with `waitingAudioSeconds` of essential audio queued (see the class). */
  value(waitingAudioSeconds: number): number {
    this.prune();
    const span = Math.min(WINDOW_MS, Math.max(1000, this.now() - this.firstAt));
    let busy = 0;
    for (const r of this.runs) busy += r.ms;
    return (busy + waitingAudioSeconds * this.msPerAudioSecond) / (span * this.slots);
  }

  private prune(): void {
    const since = this.now() - WINDOW_MS;
    while (this.runs.length > 0 && this.runs[0].end < since) this.runs.shift();
  }
}
