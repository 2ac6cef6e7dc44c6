import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  assertSampleRate,
  EchoPanelError,
  errorMessage,
  isEchoPanelError,
  type ASRProvider,
  type Availability,
  type ModelIdentity,
  type ModelState,
  type PluginContext,
  type ProviderCapabilities,
  type ProviderHealthReport,
  type RuntimeTuning,
  type Segment,
  type TranscribeOptions,
} from '@echopanel/plugin-api';
import { InferenceQueue } from '@echopanel/engine-kit';
import { checkAvailability } from './availability.js';
import type { VoxtralConfig } from './config.js';
import { SAMPLE_RATE, StreamRun, abortReason, type StreamSettings } from './stream-run.js';
import { VoxtralProcess } from './voxtral-process.js';

/** Languages Voxtral Mini 4B Realtime was trained on (voxtral.c README). */
export const VOXTRAL_LANGUAGES = ['en', 'es', 'fr', 'pt', 'hi', 'de', 'nl', 'it', 'ar', 'ru', 'zh', 'ja', 'ko'] as const;

function definedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** The interval + decoder delay (480 ms) + one 4096-sample stdin read (256 ms). */
const FIXED_LATENCY_SECONDS = 0.75;

/**
 * voxtral.c (antirez) as a supervised subprocess. In `--stdin` mode one process transcribes one stream until EOF
 * and then exits, so "resident" here means: exactly one process per provider, loaded ahead of time and handed to
 * the next stream (streams are serialized on it); when a stream ends its process finishes and exits and the next
 * one is started at once (`keepWarm`), so the model load is paid between streams instead of at their start.
 */
export class VoxtralProvider implements ASRProvider {
  readonly name = 'voxtral';
  readonly capabilities: ProviderCapabilities = {
    streaming: true,
    partialResults: true,
    wordTimestamps: false,
    languages: VOXTRAL_LANGUAGES,
    devices: ['cpu', 'metal', 'cuda'],
    decode: false,
  };

  /** The executable as configured (path or PATH name). */
  readonly binary: string;
  /** Absolute model directory. */
  readonly modelDir: string;
  private state: ModelState = 'UNINITIALIZED';
  /** The engine's own time for the last finished stream, against its audio (encoder + decoder, from voxtral.c). */
  private lastEngine?: { ms: number; audioSeconds: number };
  private readonly queue = new InferenceQueue(1);
  private settings: StreamSettings;
  /** `-I` for the next process (config, or what tune() set). */
  private interval: number;
  private binaryPath: string | undefined;
  private warm: VoxtralProcess | undefined;
  private readonly runs = new Set<StreamRun>();
  private readonly runStops = new Set<AbortController>();
  private loading: Promise<void> | undefined;
  private lifecycle = new AbortController();
  private restartCount = 0;
  private streamsServed = 0;
  private lastProcessStartMs: number | undefined;

  constructor(
    private readonly config: VoxtralConfig,
    private readonly ctx: PluginContext,
  ) {
    this.binary = config.binary ?? ctx.env.VOXTRAL_BIN ?? 'voxtral';
    this.modelDir = path.resolve(ctx.configDir, config.modelDir ?? ctx.env.VOXTRAL_MODEL_DIR ?? 'voxtral-model');
    this.interval = config.intervalSeconds;
    this.settings = this.computeSettings();
  }

  private computeSettings(): StreamSettings {
    const { config, interval } = this;
    const latency = config.latencySeconds ?? interval + FIXED_LATENCY_SECONDS;
    const pause = config.pauseSeconds ?? interval + 1;
    return {
      restartLimit: config.restartLimit,
      stallTimeoutMs: config.stallTimeoutMs,
      stopGraceMs: config.stopGraceMs,
      pauseSamples: Math.round(pause * SAMPLE_RATE),
      latencySamples: Math.round(latency * SAMPLE_RATE),
      replayMarginSamples: Math.round(config.replayMarginSeconds * SAMPLE_RATE),
      maxReplaySamples: Math.round(config.maxReplaySeconds * SAMPLE_RATE),
      maxSpeed: config.maxSpeed,
    };
  }

  tuning(): RuntimeTuning {
    return { chunkSeconds: this.interval };
  }

  /**
   * Degrade-ladder tuning: `chunkSeconds` becomes voxtral.c's `-I` (a longer interval = fewer, larger encoder calls =
   * less overhead). It applies from the next process on (an idle warm process is replaced; a running stream keeps
   * its own). `beamSize` and `model` are not supported and are left out of the result.
   */
  async tune(tuning: RuntimeTuning): Promise<RuntimeTuning> {
    const seconds = tuning.chunkSeconds;
    if (seconds === undefined) return {};
    if (!(seconds > 0) || seconds > 60) {
      throw new EchoPanelError('INVALID_CONFIG', `voxtral -I must be > 0 and at most 60 seconds, got ${seconds}`);
    }
    if (seconds !== this.interval) {
      this.interval = seconds;
      this.settings = this.computeSettings();
      const warm = this.warm;
      if (warm) {
        this.warm = undefined;
        await warm.stop(0);
        this.keepWarm();
      }
    }
    return { chunkSeconds: this.interval };
  }

  async availability(): Promise<Availability> {
    const a = await checkAvailability(this.binary, this.modelDir, this.ctx.configDir, this.ctx.env.PATH);
    return a.available ? { available: true } : { available: false, reason: a.reason, hint: a.hint, ...(a.code ? { code: a.code } : {}) };
  }

  /** Checks availability and starts the resident process; resolves once the model is loaded. Idempotent. */
  load(): Promise<void> {
    if (this.state === 'READY') return Promise.resolve();
    this.loading ??= this.doLoad().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async doLoad(): Promise<void> {
    this.state = 'LOADING';
    const signal = this.lifecycle.signal;
    try {
      const a = await checkAvailability(this.binary, this.modelDir, this.ctx.configDir, this.ctx.env.PATH);
      if (!a.available) {
        throw new EchoPanelError(a.code ?? 'PROVIDER_UNAVAILABLE', `voxtral is not available: ${a.reason}; ${a.hint}`, {
          details: { binary: this.binary, modelDir: this.modelDir },
        });
      }
      this.binaryPath = a.binaryPath;
      await this.refreshModelSize();
      const started = performance.now();
      const proc = this.spawn();
      this.warm = proc;
      await this.awaitReady(proc, signal);
      this.state = 'READY';
      this.ctx.logger.info({ pid: proc.pid, loadMs: Math.round(performance.now() - started), modelDir: this.modelDir }, 'voxtral.c loaded');
    } catch (err) {
      const e = isEchoPanelError(err) ? err : new EchoPanelError('WORKER_START_FAILED', errorMessage(err), { cause: err });
      if (this.warm) {
        const w = this.warm;
        this.warm = undefined;
        await w.stop(0);
      }
      if (signal.aborted) {
        this.state = 'UNINITIALIZED';
        throw new EchoPanelError('ABORTED', 'voxtral load was cancelled by unload()', { cause: e });
      }
      this.state = 'ERROR';
      throw e;
    }
  }

  /** Stops every process: active streams end (their unacknowledged audio is reported dropped). */
  async unload(): Promise<void> {
    if (this.state === 'UNINITIALIZED' && !this.warm && this.runs.size === 0) return;
    this.state = 'UNLOADING';
    this.lifecycle.abort(new EchoPanelError('ABORTED', 'provider unloaded'));
    for (const stop of this.runStops) stop.abort(new EchoPanelError('ABORTED', 'provider unloaded'));
    const stops: Promise<unknown>[] = [];
    for (const run of this.runs) if (run.process) stops.push(run.process.stop(this.config.stopGraceMs));
    const warm = this.warm;
    this.warm = undefined;
    if (warm) stops.push(warm.stop(this.config.stopGraceMs));
    await Promise.all(stops);
    await this.loading?.catch(() => undefined);
    this.lifecycle = new AbortController();
    this.state = 'UNINITIALIZED';
  }

  dispose(): Promise<void> {
    return this.unload();
  }

  transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncIterable<Segment> {
    return this.stream(audio, opts);
  }

  private async *stream(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncGenerator<Segment> {
    assertSampleRate(opts.sampleRate, SAMPLE_RATE, 'voxtral.c');
    if (opts.signal?.aborted) return;
    const stop = new AbortController();
    this.runStops.add(stop);
    const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let admitted!: () => void;
    const gotSlot = new Promise<void>((resolve) => (admitted = resolve));
    // One stream at a time per process: the queue's depth is the backlog in health().
    const slot = this.queue.run(() => {
      admitted();
      return held;
    }, signal);
    slot.catch(() => undefined);
    let run: StreamRun | undefined;
    try {
      try {
        await Promise.race([gotSlot, slot]);
      } catch (err) {
        if (opts.signal?.aborted) return;
        throw err;
      }
      if (this.state !== 'READY') await this.load();
      run = new StreamRun({
        settings: this.settings,
        source: {
          acquire: (s) => this.acquire(s),
          respawn: (s) => this.startProcess(s),
          onRestart: () => {
            this.restartCount++;
          },
        },
        onEngineTiming: (ms, audioSeconds) => (this.lastEngine = { ms, audioSeconds }),
        emit: opts.onEvent ?? (() => undefined),
        signal,
        quietAbort: () => opts.signal?.aborted === true,
        audioSource: opts.source,
        logger: this.ctx.logger,
      });
      this.runs.add(run);
      yield* run.run(audio);
      this.streamsServed++;
    } finally {
      if (run) this.runs.delete(run);
      this.runStops.delete(stop);
      // Start the next process before admitting the next stream, so that stream picks it up.
      this.keepWarm();
      release();
      await slot.catch(() => undefined);
    }
  }

  /** The next stream's process: the warm spare if it is alive, else a new one. */
  private async acquire(signal: AbortSignal): Promise<VoxtralProcess> {
    const warm = this.warm;
    this.warm = undefined;
    if (warm && !warm.hasExited) {
      try {
        await this.awaitReady(warm, signal);
        return warm;
      } catch (err) {
        if (signal.aborted) {
          await warm.stop(0);
          throw err;
        }
        const e = isEchoPanelError(err) ? err : new EchoPanelError('WORKER_START_FAILED', errorMessage(err));
        this.ctx.logger.warn({ code: e.code, err: e.message }, 'warm voxtral.c process failed; starting another');
        await warm.stop(0);
      }
    }
    return this.startProcess(signal);
  }

  private async startProcess(signal: AbortSignal): Promise<VoxtralProcess> {
    const proc = this.spawn();
    try {
      await this.awaitReady(proc, signal);
      return proc;
    } catch (err) {
      await proc.stop(0);
      throw err;
    }
  }

  private keepWarm(): void {
    // A one-shot host (a CLI command) exits after its stream: a spare would only be started to be killed.
    if (!this.config.keepWarm || this.ctx.oneShot || this.state !== 'READY' || this.warm || this.runs.size > 0) return;
    const proc = this.spawn();
    this.warm = proc;
    proc.ready.then(
      () => undefined,
      (err: unknown) => {
        // No longer the spare: a stream took it (and reports its failure) or unload()/tune() stopped it on purpose.
        if (this.warm !== proc) return;
        this.warm = undefined;
        const e = isEchoPanelError(err) ? err : new EchoPanelError('WORKER_START_FAILED', errorMessage(err));
        this.ctx.logger.warn({ code: e.code, err: e.message }, 'warm voxtral.c process failed to start');
      },
    );
    // A spare that dies while idle is not an error of any stream; the next stream starts a new one.
    void proc.exited.then((exit) => {
      if (this.warm === proc) {
        this.warm = undefined;
        if (proc.isReady || proc.readyAt !== undefined) {
          this.ctx.logger.warn({ pid: proc.pid, exit }, 'idle voxtral.c process exited');
        }
      }
    });
  }

  private spawn(): VoxtralProcess {
    const args = ['-d', this.modelDir, '--stdin', '-I', String(this.interval)];
    if (this.config.silent) args.push('--silent');
    return new VoxtralProcess({
      binary: this.binaryPath ?? this.binary,
      args,
      // VOX_PRINT_TIMINGS makes voxtral.c print "Model load: N ms" (readiness, even with --silent) and the
      // encoder/decoder timings at exit (health rtf).
      env: { ...definedEnv(this.ctx.env), ...this.config.env, VOX_PRINT_TIMINGS: '1' },
      readyTimeoutMs: this.config.readyTimeoutMs,
      logger: this.ctx.logger,
    });
  }

  private async awaitReady(proc: VoxtralProcess, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    if (signal.aborted) throw abortReason(signal);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        proc.kill('SIGKILL');
        reject(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      proc.ready.then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
    this.lastProcessStartMs = Math.round((proc.readyAt ?? performance.now()) - proc.spawnedAt);
    this.ctx.logger.debug({ pid: proc.pid, waitedMs: Math.round(performance.now() - started) }, 'voxtral.c ready');
  }

  /** What the host cannot see: the voxtral.c processes (pid, RSS, restarts, the warm spare), replay buffering, engine timings. */
  health(): ProviderHealthReport {
    const active = [...this.runs][0];
    const activeState = active?.state();
    const proc = active?.process ?? this.warm;
    const resident = (active?.process?.isReady ?? false) || (this.warm?.isReady ?? false);
    return {
      state: this.state,
      modelResident: resident,
      restarts: this.restartCount,
      ...(proc?.pid !== undefined && !proc.hasExited ? { workerPid: proc.pid } : {}),
      memory: { workerRssBytes: proc?.rssBytes() ?? 0 },
      extra: {
        // Streams running and waiting for the one process slot.
        streamQueueDepth: this.queue.depth,
        ...(this.lastEngine ? { lastEngineMs: Math.round(this.lastEngine.ms), lastEngineAudioSeconds: this.lastEngine.audioSeconds } : {}),
        binary: this.binaryPath ?? this.binary,
        modelDir: this.modelDir,
        intervalSeconds: this.interval,
        warmProcess: this.warm ? (this.warm.isReady ? 'ready' : 'loading') : 'none',
        streamsServed: this.streamsServed,
        lastProcessStartMs: this.lastProcessStartMs,
        replayBufferedSamples: activeState?.replayBufferedSamples ?? 0,
        replayPeakSamples: activeState?.replayPeakSamples ?? 0,
        replayLimitSamples: this.settings.maxReplaySamples,
      },
    };
  }

  modelInfo(): ModelIdentity {
    return {
      name: 'Voxtral-Mini-4B-Realtime-2602',
      format: 'safetensors',
      path: this.modelDir,
      source: 'https://huggingface.co/mistralai/Voxtral-Mini-4B-Realtime-2602',
      ...(this.modelSize !== undefined ? { sizeBytes: this.modelSize } : {}),
    };
  }

  private modelSize: number | undefined;

  private async refreshModelSize(): Promise<void> {
    try {
      this.modelSize = (await stat(path.join(this.modelDir, 'consolidated.safetensors'))).size;
    } catch {
      this.modelSize = undefined;
    }
  }
}
