import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DecodeSchedulerStats } from '@echopanel/core';
import type { EngineHost } from './engine-host.js';
import type { RequestGate } from './request-gate.js';

const MODEL_STATES = ['UNINITIALIZED', 'LOADING', 'WARMING_UP', 'READY', 'ERROR', 'UNLOADING'] as const;
const DEGRADE_LEVELS = ['NORMAL', 'WARNING', 'DEGRADE', 'EMERGENCY', 'FAILOVER'] as const;

/**
 * The server's Prometheus metrics, in a registry of its own (so several servers in one process do not collide).
 * Engine-side values (RTF, backlog, state, samples) are read from the engine when scraped.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly decodeSeconds: Histogram;
  private readonly audioSeconds: Counter;
  private readonly streamsTotal: Counter;
  private readonly streamsActive: Gauge;
  private readonly requests: Counter;
  private readonly requestSeconds: Histogram;

  constructor(engine: EngineHost, gate: RequestGate) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'echopanel_' });
    this.decodeSeconds = new Histogram({
      name: 'echopanel_inference_latency_seconds',
      help: 'Time per engine decode (including the wait for the engine), by utterance',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
      registers,
    });
    this.audioSeconds = new Counter({ name: 'echopanel_audio_received_seconds_total', help: 'Seconds of audio received by live streams', registers });
    this.streamsTotal = new Counter({ name: 'echopanel_streams_total', help: 'Live streams started', registers });
    this.streamsActive = new Gauge({ name: 'echopanel_streams_active', help: 'Live streams now open', registers });
    this.requests = new Counter({
      name: 'echopanel_transcription_requests_total',
      help: 'File transcription requests by response format and HTTP status',
      labelNames: ['format', 'status'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'echopanel_transcription_request_seconds',
      help: 'Wall time of file transcription requests',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    });
    new Gauge({
      name: 'echopanel_transcription_queue',
      help: 'File transcriptions running and waiting for a slot (server.limits.maxConcurrentRequests / maxQueuedRequests)',
      labelNames: ['state'],
      registers,
      collect() {
        const g = gate.stats();
        this.set({ state: 'running' }, g.running);
        this.set({ state: 'queued' }, g.queued);
      },
    });
    let refused = 0;
    new Counter({
      name: 'echopanel_transcription_refused_total',
      help: 'File transcriptions refused with 429 because the queue was full',
      registers,
      collect() {
        const now = gate.stats().refused;
        this.inc(now - refused);
        refused = now;
      },
    });
    new Gauge({
      name: 'echopanel_rtf',
      help: 'Real-time factor of the engine over its sliding window (processing time / audio time)',
      registers,
      collect() {
        this.set(engine.rtf());
      },
    });
    new Gauge({
      name: 'echopanel_engine_backlog',
      help: 'Requests waiting for or running in the engine',
      registers,
      collect() {
        this.set(engine.providerHealth()?.backlog ?? 0);
      },
    });
    new Gauge({
      name: 'echopanel_stream_backlog_seconds',
      help: 'Seconds of live audio waiting for the engine, over all streams',
      registers,
      collect() {
        this.set(engine.streamBacklogSeconds());
      },
    });
    let last = { receivedSamples: 0, transcribedSamples: 0, skippedSamples: 0, droppedSamples: 0 };
    new Counter({
      name: 'echopanel_samples_total',
      help: 'Live-stream samples by outcome (received = transcribed + silence + dropped once streams end)',
      labelNames: ['outcome'],
      registers,
      collect() {
        const now = engine.sessionCounter.snapshot();
        this.inc({ outcome: 'accounted' }, now.receivedSamples - last.receivedSamples);
        this.inc({ outcome: 'transcribed' }, now.transcribedSamples - last.transcribedSamples);
        this.inc({ outcome: 'silence' }, now.skippedSamples - last.skippedSamples);
        this.inc({ outcome: 'dropped' }, now.droppedSamples - last.droppedSamples);
        last = now;
      },
    });
    new Gauge({
      name: 'echopanel_degrade_level',
      help: 'Degrade ladder level: 0 NORMAL, 1 WARNING, 2 DEGRADE, 3 EMERGENCY, 4 FAILOVER',
      registers,
      collect() {
        this.set(Math.max(0, DEGRADE_LEVELS.indexOf(engine.degradeLevel() as (typeof DEGRADE_LEVELS)[number])));
      },
    });
    new Gauge({
      name: 'echopanel_model_state',
      help: 'Model lifecycle state (1 for the current state)',
      labelNames: ['state'],
      registers,
      collect() {
        const current = engine.readiness().model_state;
        for (const s of MODEL_STATES) this.set({ state: s }, s === current ? 1 : 0);
      },
    });
    let recovery = { attempts: 0, recoveries: 0 };
    new Counter({
      name: 'echopanel_model_recovery_total',
      help: 'Automatic retries of a model in ERROR: attempts started, and attempts that brought it back to READY',
      labelNames: ['outcome'],
      registers,
      collect() {
        const now = engine.manager.recoveryStatus();
        this.inc({ outcome: 'attempt' }, now.attempts - recovery.attempts);
        this.inc({ outcome: 'recovered' }, now.recoveries - recovery.recoveries);
        recovery = now;
      },
    });
    new Gauge({
      name: 'echopanel_model_recovery_next_seconds',
      help: 'Seconds until the next automatic retry of a model in ERROR (0 when none is scheduled)',
      registers,
      collect() {
        const next = engine.manager.recoveryStatus().nextAttemptAt;
        this.set(next ? Math.max(0, (Date.parse(next) - Date.now()) / 1000) : 0);
      },
    });
    new Gauge({
      name: 'echopanel_model_load_seconds',
      help: 'Model load and warmup time of the current model',
      labelNames: ['phase'],
      registers,
      collect() {
        const r = engine.readiness();
        this.set({ phase: 'load' }, (r.load_time_ms ?? 0) / 1000);
        this.set({ phase: 'warmup' }, (r.warmup_time_ms ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'echopanel_memory_bytes',
      help: 'Resident memory: this process, engine worker processes, the model estimate',
      labelNames: ['kind'],
      registers,
      collect() {
        const m = engine.providerHealth()?.memory;
        this.set({ kind: 'process_rss' }, m?.processRssBytes ?? process.memoryUsage.rss());
        this.set({ kind: 'worker_rss' }, m?.workerRssBytes ?? 0);
        this.set({ kind: 'model_resident' }, m?.modelResidentBytes ?? 0);
      },
    });
    this.schedulerMetrics(engine, registers);
  }

  /** The decode scheduler that every stream's and upload's one-shot decodes queue in (see DecodeScheduler). */
  private schedulerMetrics(engine: EngineHost, registers: Registry[]): void {
    const stats = () => engine.providerHealth()?.scheduler;
    new Gauge({
      name: 'echopanel_scheduler_queued',
      help: 'Decodes waiting for the engine in the decode scheduler',
      registers,
      collect() {
        this.set(stats()?.queued ?? 0);
      },
    });
    new Gauge({
      name: 'echopanel_scheduler_load',
      help: 'Share of wall time the engine needs for finals and uploads (busy time of the last 10 s plus what waits); 1 = saturated',
      registers,
      collect() {
        this.set(stats()?.load ?? 0);
      },
    });
    new Gauge({
      name: 'echopanel_scheduler_wait_seconds',
      help: 'Wait from submission to the engine over the recent decodes, by priority (final, ahead, recording, partial) and quantile',
      labelNames: ['priority', 'quantile'],
      registers,
      collect() {
        for (const [priority, w] of Object.entries(stats()?.waitMs ?? {})) {
          this.set({ priority, quantile: '0.5' }, w.p50 / 1000);
          this.set({ priority, quantile: '0.95' }, w.p95 / 1000);
        }
      },
    });
    /** A counter over one of the scheduler's running totals (by `label` when the total has keys). */
    const counter = (name: string, help: string, read: (s: DecodeSchedulerStats) => Record<string, number>, label?: string) => {
      const last = new Map<string, number>();
      new Counter({
        name,
        help,
        labelNames: label ? [label] : [],
        registers,
        collect() {
          const s = stats();
          if (!s) return;
          for (const [key, value] of Object.entries(read(s))) {
            // A model switch brings a new scheduler whose counts start at 0.
            const before = last.get(key) ?? 0;
            this.inc(label ? { [label]: key } : {}, value >= before ? value - before : value);
            last.set(key, value);
          }
        },
      });
    };
    counter('echopanel_scheduler_calls_total', 'Engine calls by the number of utterances they carried (batch size)', (s) => s.batchSizes, 'size');
    counter('echopanel_scheduler_skipped_total', 'Partials and decode-aheads skipped because the engine was behind', (s) => s.skipped, 'priority');
    counter('echopanel_scheduler_batch_failures_total', 'Batches the engine failed as a whole (their utterances were decoded one by one)', (s) => ({ '': s.batchFailures }));
  }

  audioReceived(seconds: number): void {
    this.audioSeconds.inc(seconds);
  }

  decodeObserved(ms: number, _audioSeconds: number): void {
    this.decodeSeconds.observe(ms / 1000);
  }

  streamOpened(): void {
    this.streamsTotal.inc();
    this.streamsActive.inc();
  }

  streamClosed(): void {
    this.streamsActive.dec();
  }

  transcriptionDone(format: string, status: number, seconds: number): void {
    this.requests.inc({ format, status: String(status) });
    this.requestSeconds.observe(seconds);
  }
}
