import { SlidingWindow } from '@echopanel/engine-kit';
import type { ProviderHealth } from '../health/provider-health.js';

export type InferenceMetricsSnapshot = Pick<
  ProviderHealth,
  'rtf' | 'avgInferMs' | 'p50InferMs' | 'p95InferMs' | 'p99InferMs' | 'inferences' | 'droppedChunks' | 'consecutiveErrors' | 'lastError'
>;

/**
 * Timing and error accounting of one provider as the host measures it, over sliding windows: RTF from the
 * provider's busy time against the audio it processed (one-shot decodes and stream work alike), latency
 * percentiles from one-shot decodes and stream segments.
 */
export class InferenceMetrics {
  private readonly workMs: SlidingWindow;
  private readonly workAudioSec: SlidingWindow;
  private readonly latencyMs: SlidingWindow;
  private total = 0;
  private consecutive = 0;
  private dropped = 0;
  private last?: { code: string; message: string; at: string };

  constructor(
    windowSize = 200,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.workMs = new SlidingWindow(windowSize);
    this.workAudioSec = new SlidingWindow(windowSize);
    this.latencyMs = new SlidingWindow(windowSize);
  }

  /** A one-shot decode of `audioSeconds` that took `ms`: its RTF and its latency. */
  recordDecode(ms: number, audioSeconds: number): void {
    this.recordWork(ms, audioSeconds);
    this.recordLatency(ms);
  }

  /** `ms` of provider busy time spent on `audioSeconds` of stream audio (RTF only). */
  recordWork(ms: number, audioSeconds: number): void {
    this.workMs.push(ms);
    this.workAudioSec.push(audioSeconds);
  }

  /** One result delivered `ms` after its audio was (a decode's duration, a stream segment's delay). */
  recordLatency(ms: number): void {
    this.latencyMs.push(ms);
    this.total++;
    this.consecutive = 0;
  }

  recordError(code: string, message: string): void {
    this.consecutive++;
    this.last = { code, message, at: this.now().toISOString() };
  }

  recordDroppedChunk(): void {
    this.dropped++;
  }

  /** Whether any work was measured yet (RTF means nothing before). */
  get measured(): boolean {
    return this.workAudioSec.size > 0;
  }

  snapshot(): InferenceMetricsSnapshot {
    const audio = this.workAudioSec.sum();
    return {
      rtf: audio > 0 ? this.workMs.sum() / 1000 / audio : 0,
      avgInferMs: this.latencyMs.mean(),
      p50InferMs: this.latencyMs.percentile(50),
      p95InferMs: this.latencyMs.percentile(95),
      p99InferMs: this.latencyMs.percentile(99),
      inferences: this.total,
      consecutiveErrors: this.consecutive,
      droppedChunks: this.dropped,
      ...(this.last ? { lastError: { ...this.last } } : {}),
    };
  }
}
