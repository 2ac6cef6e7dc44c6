import {
  type ASRProvider,
  type Clock,
  EchoPanelError,
  errorMessage,
  pcmFrames,
  type TranscriptionEvent,
} from '@echopanel/plugin-api';
import { warmupSpeech } from './warmup-speech.js';

/** 1 = load only; 2 = load + one inference; 3 = load + one inference + `level3Iterations` more. */
export type WarmupLevel = 1 | 2 | 3;

export interface WarmupOptions {
  /** Inferences of level 3 (default 3). */
  readonly level3Iterations?: number;
  /** Time budget of levels 2 and 3 in ms (defaults 60000 and 120000). A level over budget is abandoned. */
  readonly budgetsMs?: { readonly level2?: number; readonly level3?: number };
  /** Warmup audio (16 kHz mono) instead of the spoken sentence shipped with core ({@link warmupSpeech}). */
  readonly audio?: Int16Array;
}

export interface WarmupLevelReport {
  readonly level: 2 | 3;
  /** Measured time (no padding). */
  readonly ms: number;
  readonly budgetMs: number;
  readonly inferences: number;
  readonly segments: number;
  /** The budget ran out and the remaining inference was aborted. */
  readonly exceeded: boolean;
}

export interface WarmupReport {
  readonly level: WarmupLevel;
  readonly totalMs: number;
  readonly levels: readonly WarmupLevelReport[];
}

/**
 * Runs warmup levels 2 and 3 on a loaded provider (level 1, the load, is the manager's). Inference errors
 * propagate (the model cannot infer); a level that overruns its budget is cut short and reported, not failed:
 * slowness is the degrade ladder's business.
 */
export async function runWarmup(
  provider: ASRProvider,
  level: WarmupLevel,
  ctx: { clock: Clock; signal?: AbortSignal; options?: WarmupOptions },
): Promise<WarmupReport> {
  const { clock, signal } = ctx;
  const opts = ctx.options ?? {};
  const started = clock.now();
  const levels: WarmupLevelReport[] = [];
  if (level >= 2) {
    const pcm = opts.audio ?? warmupSpeech();
    levels.push(await runLevel(provider, pcm, 2, 1, opts.budgetsMs?.level2 ?? 60000, clock, signal));
    if (level >= 3 && !levels[0].exceeded) {
      levels.push(await runLevel(provider, pcm, 3, opts.level3Iterations ?? 3, opts.budgetsMs?.level3 ?? 120000, clock, signal));
    }
  }
  return { level, totalMs: clock.now() - started, levels };
}

async function runLevel(
  provider: ASRProvider,
  pcm: Int16Array,
  level: 2 | 3,
  iterations: number,
  budgetMs: number,
  clock: Clock,
  outer?: AbortSignal,
): Promise<WarmupLevelReport> {
  const ac = new AbortController();
  const onOuter = () => ac.abort(outer?.reason);
  if (outer?.aborted) onOuter();
  outer?.addEventListener('abort', onOuter, { once: true });
  const budget = new EchoPanelError('INFERENCE_TIMEOUT', `warmup level ${level} exceeded its ${budgetMs} ms budget`);
  const timer = setTimeout(() => ac.abort(budget), budgetMs);
  const aborted = new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true }));
  aborted.catch(() => undefined);
  const started = clock.now();
  let inferences = 0;
  let segments = 0;
  try {
    for (let i = 0; i < iterations; i++) {
      segments += await Promise.race([infer(provider, pcm, ac.signal), aborted]);
      inferences++;
    }
    return { level, ms: clock.now() - started, budgetMs, inferences, segments, exceeded: false };
  } catch (err) {
    if (ac.signal.reason === budget) {
      return { level, ms: clock.now() - started, budgetMs, inferences, segments, exceeded: true };
    }
    if (outer?.aborted) throw outer.reason;
    throw new EchoPanelError(errCode(err), `warmup inference failed: ${errorMessage(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}

async function infer(provider: ASRProvider, pcm: Int16Array, signal: AbortSignal): Promise<number> {
  if (provider.capabilities.decode && provider.decode) {
    return (await provider.decode(pcm, { sampleRate: 16000, signal })).length;
  }
  let n = 0;
  let failed: { code: string; message: string } | undefined;
  // Batch providers report a failed chunk as an event and carry on; for warmup that is a failure.
  const onEvent = (e: TranscriptionEvent) => {
    if (e.type === 'error' && !e.recovered) failed ??= { code: e.code, message: e.message };
  };
  for await (const _ of provider.transcribe(pcmFrames(pcm), { sampleRate: 16000, signal, onEvent })) n++;
  if (failed) throw new EchoPanelError(failed.code, failed.message);
  return n;
}

function errCode(err: unknown): string {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : 'INFERENCE_FAILED';
}
