import type { ModelState, ProviderHealth } from '@echopanel/plugin-api';

/** A provider health with no activity yet (a starting point for providers and wrappers). */
export function idleProviderHealth(provider: string, state: ModelState = 'UNINITIALIZED'): ProviderHealth {
  return {
    provider,
    state,
    rtf: 0,
    avgInferMs: 0,
    p50InferMs: 0,
    p95InferMs: 0,
    p99InferMs: 0,
    inferences: 0,
    backlog: 0,
    droppedChunks: 0,
    modelResident: false,
    consecutiveErrors: 0,
    restarts: 0,
    memory: { processRssBytes: process.memoryUsage.rss(), workerRssBytes: 0 },
    sessions: { active: 0, total: 0, receivedSamples: 0, transcribedSamples: 0, skippedSamples: 0, droppedSamples: 0 },
  };
}
