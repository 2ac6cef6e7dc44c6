import type { ProviderHealth } from '@echopanel/plugin-api';
import { SlidingWindow } from './sliding-window.js';

export interface InferenceMetricsSnapshot {
  readonly rtf: number;
  readonly avgInferMs: number;
  readonly p50InferMs: number;
  readonly p95InferMs: number;
  readonly p99InferMs: number;
  readonly inferences: number;
  readonly consecutiveErrors: number;
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: string };
  readonly droppedChunks: number;
}

/** Inference timing and error accounting of one engine, over a sliding window. */
export class InferenceMetrics {
  private readonly inferMs: SlidingWindow;
  private readonly audioSec: SlidingWindow;
  private total = 0;
  private consecutive = 0;
  private dropped = 0;
  private last?: { code: string; message: string; at: string };
  private readonly listeners = new Set<(inferMs: number, audioSeconds: number) => void>();

  constructor(windowSize = 200) {
    this.inferMs = new SlidingWindow(windowSize);
    this.audioSec = new SlidingWindow(windowSize);
  }

  /** A successful inference of `audioSeconds` of audio that took `inferMs`. */
  recordSuccess(inferMs: number, audioSeconds: number): void {
    this.inferMs.push(inferMs);
    this.audioSec.push(audioSeconds);
    this.total++;
    this.consecutive = 0;
    for (const l of this.listeners) l(inferMs, audioSeconds);
  }

  recordError(code: string, message: string): void {
    this.consecutive++;
    this.last = { code, message, at: new Date().toISOString() };
  }

  recordDroppedChunk(): void {
    this.dropped++;
  }

  /** Called after each successful inference (e.g. Prometheus histograms, the degrade ladder). */
  onInference(listener: (inferMs: number, audioSeconds: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): InferenceMetricsSnapshot {
    const audio = this.audioSec.sum();
    return {
      rtf: audio > 0 ? this.inferMs.sum() / 1000 / audio : 0,
      avgInferMs: this.inferMs.mean(),
      p50InferMs: this.inferMs.percentile(50),
      p95InferMs: this.inferMs.percentile(95),
      p99InferMs: this.inferMs.percentile(99),
      inferences: this.total,
      consecutiveErrors: this.consecutive,
      droppedChunks: this.dropped,
      ...(this.last ? { lastError: { ...this.last } } : {}),
    };
  }
}

/**
 * The ProviderHealth fields that come from an engine's {@link InferenceMetricsSnapshot}, so every provider maps
 * them the same way.
 */
export function inferenceHealthFields(m: InferenceMetricsSnapshot): Pick<
  ProviderHealth,
  'rtf' | 'avgInferMs' | 'p50InferMs' | 'p95InferMs' | 'p99InferMs' | 'inferences' | 'droppedChunks' | 'consecutiveErrors' | 'lastError'
> {
  return {
    rtf: m.rtf,
    avgInferMs: m.avgInferMs,
    p50InferMs: m.p50InferMs,
    p95InferMs: m.p95InferMs,
    p99InferMs: m.p99InferMs,
    inferences: m.inferences,
    droppedChunks: m.droppedChunks,
    consecutiveErrors: m.consecutiveErrors,
    ...(m.lastError ? { lastError: m.lastError } : {}),
  };
}
