import { isEchoPanelError, errorMessage, type ASRProvider, type Segment, type TranscribeOptions } from '@echopanel/plugin-api';

export const SAMPLE_RATE = 16000;

/** A check's assertion failed; the message says what the provider did. */
export class CheckFailure extends Error {}

/** The check does not apply; the message says why. */
export class CheckSkipped extends Error {}

export function fail(message: string): never {
  throw new CheckFailure(message);
}

/** Frames of `pcm` cut by `sizes` in turn (sizes may be 0 or 1), counting what the provider pulled. */
export async function* framesOf(pcm: Int16Array, sizes: readonly number[] = [1600]): AsyncGenerator<Int16Array> {
  for (let i = 0, k = 0; i < pcm.length; k++) {
    const n = sizes[k % sizes.length];
    yield pcm.subarray(i, Math.min(pcm.length, i + n));
    i += n;
  }
}

/**
 * An audio source that repeats `pcm` up to `maxSeconds`, calls `onPulled` with the samples taken so far, and ends
 * early once `stop()` is called (so a provider that ignores its abort signal cannot run forever).
 */
export function endlessSource(pcm: Int16Array, maxSeconds: number, onPulled: (samples: number) => void): { frames: AsyncIterable<Int16Array>; stop(): void; pulled(): number } {
  let stopped = false;
  let pulled = 0;
  const total = maxSeconds * SAMPLE_RATE;
  async function* frames(): AsyncGenerator<Int16Array> {
    while (!stopped && pulled < total) {
      for (let i = 0; i < pcm.length && !stopped && pulled < total; i += 1600) {
        const frame = pcm.subarray(i, Math.min(pcm.length, i + 1600));
        pulled += frame.length;
        onPulled(pulled);
        yield frame;
        // Give timers (the abort, the unload) a turn even when the provider pulls synchronously.
        await new Promise((r) => setImmediate(r));
      }
    }
  }
  return { frames: frames(), stop: () => (stopped = true), pulled: () => pulled };
}

export interface Collected {
  readonly segments: Segment[];
  /** What the stream threw, if it did. */
  readonly error?: unknown;
  /** When the stream ended (performance.now()). */
  readonly endedAt: number;
}

/** Runs `provider.transcribe` to its end, collecting segments; resolves with the error instead of rejecting. */
export async function collect(provider: ASRProvider, audio: AsyncIterable<Int16Array>, opts: Partial<TranscribeOptions> = {}): Promise<Collected> {
  const segments: Segment[] = [];
  try {
    for await (const s of provider.transcribe(audio, { sampleRate: SAMPLE_RATE, ...opts })) segments.push(s);
    return { segments, endedAt: performance.now() };
  } catch (error) {
    return { segments, error, endedAt: performance.now() };
  }
}

/** Like {@link collect}, but a thrown error fails the check (with its code, if any). */
export async function transcribeOk(provider: ASRProvider, audio: AsyncIterable<Int16Array>, what: string, opts: Partial<TranscribeOptions> = {}): Promise<Segment[]> {
  const r = await collect(provider, audio, opts);
  if (r.error !== undefined) fail(`${what}: transcribe threw ${describeError(r.error)}`);
  return r.segments;
}

/** `CODE: message`, or `an uncoded Error: message`. */
export function describeError(err: unknown): string {
  return isEchoPanelError(err) || hasCode(err) ? `${(err as { code: string }).code}: ${errorMessage(err)}` : `an error without a code (${errorMessage(err)})`;
}

/** True when `err` carries a stable string code (an EchoPanelError from any copy of the contract, or the like). */
export function hasCode(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code);
}

/** The text of the final segments, joined. */
export function finalText(segments: readonly Segment[]): string {
  return segments
    .filter((s) => s.isFinal)
    .map((s) => s.text.trim())
    .filter(Boolean)
    .join(' ');
}

/** Rejects with a CheckFailure when `promise` takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CheckFailure(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
