import { InferenceQueue } from '@echopanel/engine-kit';
import {
  type Clock,
  errorMessage,
  type Logger,
  type RuntimeTuning,
  silentLogger,
  systemClock,
} from '@echopanel/plugin-api';
import type { DegradeHealth, DegradeLevelChange } from '../health/provider-health.js';
import { Listeners } from '../lifecycle/listeners.js';
import type { DegradeActions } from './degrade-actions.js';
import { DEFAULT_DEGRADE_SETTINGS, DEGRADE_LEVELS, levelForRtf, severity, type DegradeLevel, type DegradeSettings } from './degrade-level.js';

/**
 * What the host runs with at NORMAL, for a provider that does not report its settings (`actions.currentTuning`,
 * which wins when it answers). A knob whose value is known from neither is left alone: a step changes only what
 * its revert can put back exactly.
 */
export interface DegradeBaseline {
  readonly chunkSeconds?: number;
  readonly beamSize?: number;
  /** The start of the smaller-model chain. */
  readonly model?: string;
  readonly vadEnabled?: boolean;
}

export type DegradeSettingsInput = Partial<Omit<DegradeSettings, 'thresholds'>> & { readonly thresholds?: Partial<DegradeSettings['thresholds']> };

export interface DegradeLadderOptions {
  readonly settings?: DegradeSettingsInput;
  readonly actions?: DegradeActions;
  readonly baseline: DegradeBaseline;
  /** Largest chunk WARNING may set (default 8 s). */
  readonly maxChunkSeconds?: number;
  /** Chunk growth at WARNING (default +1 s). */
  readonly chunkStepSeconds?: number;
  /** The next smaller model, or undefined (default: large → medium.en → small.en → base.en → tiny.en). */
  readonly smallerModel?: (model: string) => string | undefined;
  /** Where `tick()` reads RTF (the host-measured `manager.health().rtf`); undefined = no data yet. */
  readonly rtfSource?: () => number | undefined;
  /** Samples dropped by the drop policy (for health). */
  readonly droppedSamples?: () => number;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Level changes kept in health (default 50). */
  readonly historySize?: number;
}

export interface DegradeLadderEvents extends Record<string, unknown> {
  level: DegradeLevelChange;
}

type Outcome = { name: string; ok: boolean; detail?: string };

interface Step {
  readonly level: DegradeLevel;
  readonly from: DegradeLevel;
  readonly names: string[];
  readonly revert: () => Promise<Outcome[]>;
}

const SMALLER: Readonly<Record<string, string>> = {
  'large-v3': 'medium.en',
  'large-v3-turbo': 'small.en',
  'large-v2': 'medium.en',
  'medium.en': 'small.en',
  medium: 'small',
  'small.en': 'base.en',
  small: 'base',
  'base.en': 'tiny.en',
  base: 'tiny',
};

/** The model downgrade chain: each model's next smaller one. */
export function defaultSmallerModel(model: string): string | undefined {
  return SMALLER[model];
}

/**
 * RTF above a threshold degrades (all intermediate levels' actions applied in
 * order, at most once per `minLevelSeconds` after the first step); recovery is one level at a time, each only
 * after RTF stayed below the recovery threshold for the whole recovery window, reverting that level's actions
 * (LIFO). Sustained EMERGENCY or `errorsBeforeFailover` consecutive provider errors fail over; from FAILOVER the
 * primary is probed every recovery window and taken back when healthy.
 */
export class DegradeLadder {
  readonly settings: DegradeSettings;
  private readonly actions: DegradeActions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly listeners: Listeners<DegradeLadderEvents>;
  private current: DegradeLevel = 'NORMAL';
  private levelSince: number;
  private levelSinceIso: string;
  private readonly steps: Step[] = [];
  private readonly history: DegradeLevelChange[] = [];
  private belowSince?: number;
  private lastRtf?: number;
  private lastProbe = -Infinity;
  private lastFailoverAttempt = -Infinity;
  private consecutiveErrors = 0;
  private chunkSeconds: number | undefined;
  /** Evaluations and level changes, one at a time in arrival order. */
  private readonly ops = new InferenceQueue(1);
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: DegradeLadderOptions) {
    const s = options.settings ?? {};
    this.settings = {
      ...DEFAULT_DEGRADE_SETTINGS,
      ...s,
      thresholds: { ...DEFAULT_DEGRADE_SETTINGS.thresholds, ...s.thresholds },
    };
    this.actions = options.actions ?? {};
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child({ component: 'degrade-ladder' });
    this.listeners = new Listeners((err) => this.logger.error({ err: errorMessage(err) }, 'degrade listener threw'));
    this.levelSince = this.clock.now();
    this.levelSinceIso = this.clock.date().toISOString();
    this.chunkSeconds = options.baseline.chunkSeconds;
  }

  get level(): DegradeLevel {
    return this.current;
  }

  /** Chunk length the ladder last set or found in force (undefined before the first step when the baseline has none). */
  get currentChunkSeconds(): number | undefined {
    return this.chunkSeconds;
  }

  on<K extends keyof DegradeLadderEvents>(event: K, listener: (payload: DegradeLadderEvents[K]) => void): () => void {
    return this.listeners.on(event, listener);
  }

  /** Feeds one RTF observation; resolves with the level change it caused, if any. */
  observe(rtf: number): Promise<DegradeLevelChange | undefined> {
    return this.ops.run(() => this.evaluate(rtf));
  }

  /** Reads `rtfSource` and evaluates; at FAILOVER probes the primary when a recovery window has passed. */
  tick(): Promise<DegradeLevelChange | undefined> {
    return this.ops.run(async () => {
      if (this.current === 'FAILOVER') return this.maybeRecoverPrimary();
      const rtf = this.options.rtfSource?.();
      if (rtf === undefined || !Number.isFinite(rtf)) return undefined;
      return this.evaluate(rtf);
    });
  }

  /** A provider error (counts toward failover). */
  reportProviderError(err: unknown): Promise<DegradeLevelChange | undefined> {
    return this.ops.run(async () => {
      this.consecutiveErrors++;
      if (!this.settings.enabled || this.current === 'FAILOVER') return undefined;
      if (this.consecutiveErrors < this.settings.errorsBeforeFailover) return undefined;
      return this.failover(`${this.consecutiveErrors} consecutive provider errors (last: ${errorMessage(err)})`);
    });
  }

  reportProviderSuccess(): void {
    this.consecutiveErrors = 0;
  }

  /** Failover happened elsewhere (e.g. a FailoverProvider tripped mid-stream): the level follows reality. */
  reportFailover(reason: string): Promise<DegradeLevelChange | undefined> {
    return this.ops.run(async () => {
      if (this.current === 'FAILOVER') return undefined;
      const from = this.current;
      this.steps.push({ level: 'FAILOVER', from, names: ['failover'], revert: () => this.revertFailover() });
      return this.change(from, 'FAILOVER', reason, [{ name: 'failover', ok: true, detail: 'done by the provider' }]);
    });
  }

  /** The primary came back elsewhere: leave FAILOVER without calling the actions again. */
  reportRecovered(reason: string): Promise<DegradeLevelChange | undefined> {
    return this.ops.run(async () => {
      if (this.current !== 'FAILOVER') return undefined;
      const step = this.steps.pop()!;
      this.belowSince = undefined;
      return this.change('FAILOVER', step.from, reason, [{ name: 'recover-primary', ok: true, detail: 'done by the provider' }]);
    });
  }

  /** Calls `tick()` every `intervalMs` (timer unref'd). */
  start(intervalMs = 1000): void {
    this.stop();
    this.timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.logger.error({ err: errorMessage(err) }, 'degrade tick failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  health(): DegradeHealth {
    return {
      enabled: this.settings.enabled,
      level: this.current,
      since: this.levelSinceIso,
      ...(this.lastRtf !== undefined ? { rtf: this.lastRtf } : {}),
      activeActions: this.steps.flatMap((s) => s.names),
      droppedSamples: this.options.droppedSamples?.() ?? 0,
      history: [...this.history],
    };
  }

  private async evaluate(rtf: number): Promise<DegradeLevelChange | undefined> {
    const now = this.clock.now();
    this.lastRtf = rtf;
    if (!this.settings.enabled) return undefined;
    const t = this.settings.thresholds;
    // At FAILOVER the RTF is the fallback's: it says nothing about the primary.
    if (this.current === 'FAILOVER') return undefined;
    if (rtf < t.recovery) this.belowSince ??= now;
    else this.belowSince = undefined;
    const target = levelForRtf(rtf, t);
    const minLevelMs = this.settings.minLevelSeconds * 1000;
    if (severity(target) > severity(this.current)) {
      if (this.current !== 'NORMAL' && now - this.levelSince < minLevelMs) return undefined;
      return this.degradeTo(target, rtf);
    }
    if (this.current === 'EMERGENCY' && rtf >= t.emergency && now - this.levelSince >= minLevelMs && this.actions.failover) {
      if (now - this.lastFailoverAttempt < minLevelMs) return undefined;
      return this.failover(`RTF ${rtf.toFixed(2)} still at or above ${t.emergency} after ${this.settings.minLevelSeconds} s at EMERGENCY`, rtf);
    }
    if (this.current !== 'NORMAL' && this.belowSince !== undefined && now - this.belowSince >= this.settings.recoveryWindowSeconds * 1000) {
      const change = await this.recoverOne(
        `RTF below ${t.recovery} for ${this.settings.recoveryWindowSeconds} s`,
        rtf,
      );
      // Each further step needs a whole new window below the threshold.
      this.belowSince = now;
      return change;
    }
    return undefined;
  }

  private async degradeTo(target: DegradeLevel, rtf: number): Promise<DegradeLevelChange> {
    const from = this.current;
    const outcomes: Outcome[] = [];
    for (let i = severity(from) + 1; i <= severity(target); i++) {
      const level = DEGRADE_LEVELS[i];
      const prev = DEGRADE_LEVELS[i - 1];
      const { outcomes: o, step } = await this.applyLevel(level, prev);
      outcomes.push(...o);
      this.steps.push(step);
    }
    this.belowSince = undefined;
    return this.change(from, target, `RTF ${rtf.toFixed(2)} ≥ ${this.thresholdOf(target)}`, outcomes, rtf);
  }

  private async applyLevel(level: DegradeLevel, from: DegradeLevel): Promise<{ outcomes: Outcome[]; step: Step }> {
    const a = this.actions;
    const inForce = await this.inForce();
    if (level === 'WARNING') {
      const prev = inForce.chunkSeconds ?? this.chunkSeconds;
      const max = this.options.maxChunkSeconds ?? 8;
      if (prev === undefined || prev >= max) {
        const detail = prev === undefined ? 'the chunk length in force is unknown' : `chunks are already ${prev} s (max ${max} s)`;
        return { outcomes: [{ name: 'bigger-chunks', ok: false, detail }], step: { level, from, names: [], revert: async () => [] } };
      }
      const next = Math.min(max, prev + (this.options.chunkStepSeconds ?? 1));
      const outcome = await this.run('bigger-chunks', a.setChunkSeconds && (() => a.setChunkSeconds!(next)), (applied) => {
        this.chunkSeconds = typeof applied === 'number' ? applied : next;
        return `chunk ${prev} s → ${this.chunkSeconds} s`;
      });
      return {
        outcomes: [outcome],
        step: {
          level,
          from,
          names: ['bigger-chunks'],
          revert: async () => [
            await this.run('restore-chunks', a.setChunkSeconds && (() => a.setChunkSeconds!(prev)), (applied) => {
              const before = this.chunkSeconds;
              this.chunkSeconds = typeof applied === 'number' ? applied : prev;
              return `chunk ${before} s → ${this.chunkSeconds} s`;
            }),
          ],
        },
      };
    }
    if (level === 'DEGRADE') {
      const base = this.options.baseline;
      const beamSize = inForce.beamSize ?? base.beamSize;
      const model = inForce.model ?? base.model;
      const smaller = model ? (this.options.smallerModel ?? defaultSmallerModel)(model) : undefined;
      const tuning: RuntimeTuning = { ...(beamSize !== undefined && beamSize > 1 ? { beamSize: 1 } : {}), ...(smaller ? { model: smaller } : {}) };
      const restore: RuntimeTuning = { ...(tuning.beamSize !== undefined ? { beamSize } : {}), ...(tuning.model ? { model } : {}) };
      const reduce = Object.keys(tuning).length > 0 && a.tune ? () => a.tune!(tuning) : undefined;
      const outcomes = [
        reduce
          ? await this.run('reduce-quality', reduce, (applied) => describeTuning(applied ?? tuning))
          : { name: 'reduce-quality', ok: false, detail: a.tune ? 'beam size already 1 or unknown, no smaller model' : 'not supported by the host' },
        await this.run('vad-off', a.setVadEnabled && (() => a.setVadEnabled!(false))),
      ];
      return {
        outcomes,
        step: {
          level,
          from,
          names: ['reduce-quality', 'vad-off'],
          revert: async () => [
            // Reverse order of application.
            await this.run('vad-on', a.setVadEnabled && (() => a.setVadEnabled!(base.vadEnabled ?? true))),
            ...(reduce ? [await this.run('restore-quality', a.tune && (() => a.tune!(restore)), (applied) => describeTuning(applied ?? restore))] : []),
          ],
        },
      };
    }
    // EMERGENCY (FAILOVER goes through failover()).
    return {
      outcomes: [await this.run('drop-chunks', a.setDropPolicy && (() => a.setDropPolicy!(true)))],
      step: {
        level,
        from,
        names: ['drop-chunks'],
        revert: async () => [await this.run('stop-dropping', a.setDropPolicy && (() => a.setDropPolicy!(false)))],
      },
    };
  }

  private async inForce(): Promise<RuntimeTuning> {
    try {
      return (await this.actions.currentTuning?.()) ?? {};
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'could not read the settings in force; using the baseline');
      return {};
    }
  }

  private async failover(reason: string, rtf?: number): Promise<DegradeLevelChange | undefined> {
    this.lastFailoverAttempt = this.clock.now();
    let ok = false;
    const outcome = await this.run('failover', this.actions.failover && (() => this.actions.failover!(reason)), (r) => {
      ok = r !== false;
      return ok ? undefined : 'no usable fallback provider';
    });
    if (!outcome.ok || !ok) {
      // Reality: still on the primary, so the level stays at EMERGENCY, but it is on record.
      this.logger.error({ reason, detail: outcome.detail }, 'failover needed but not possible');
      return undefined;
    }
    const from = this.current;
    this.steps.push({ level: 'FAILOVER', from, names: ['failover'], revert: () => this.revertFailover() });
    this.consecutiveErrors = 0;
    return this.change(from, 'FAILOVER', reason, [outcome], rtf);
  }

  private async revertFailover(): Promise<Outcome[]> {
    return [
      await this.run('recover-primary', this.actions.recoverPrimary && (() => this.actions.recoverPrimary!()), (r) =>
        r === false ? 'primary not healthy' : undefined,
      ),
    ];
  }

  private async maybeRecoverPrimary(): Promise<DegradeLevelChange | undefined> {
    const now = this.clock.now();
    const windowMs = this.settings.recoveryWindowSeconds * 1000;
    if (now - this.levelSince < windowMs || now - this.lastProbe < windowMs) return undefined;
    this.lastProbe = now;
    if (!this.actions.probePrimary || !this.actions.recoverPrimary) return undefined;
    let healthy = false;
    try {
      healthy = await this.actions.probePrimary();
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'primary probe failed');
    }
    if (!healthy) return undefined;
    return this.recoverOne('primary is healthy again');
  }

  private async recoverOne(reason: string, rtf?: number): Promise<DegradeLevelChange | undefined> {
    const step = this.steps[this.steps.length - 1];
    if (!step) return undefined;
    const outcomes = await step.revert();
    if (step.level === 'FAILOVER' && !outcomes.every((o) => o.ok && o.detail !== 'primary not healthy')) {
      this.logger.warn({ outcomes }, 'could not go back to the primary; staying at FAILOVER');
      return undefined;
    }
    this.steps.pop();
    if (step.level === 'FAILOVER') this.belowSince = undefined;
    return this.change(step.level, step.from, reason, outcomes, rtf);
  }

  private change(from: DegradeLevel, to: DegradeLevel, reason: string, actions: Outcome[], rtf?: number): DegradeLevelChange {
    this.current = to;
    this.levelSince = this.clock.now();
    this.levelSinceIso = this.clock.date().toISOString();
    const change: DegradeLevelChange = { from, to, at: this.levelSinceIso, reason, ...(rtf !== undefined ? { rtf } : {}), actions };
    this.history.push(change);
    const max = this.options.historySize ?? 50;
    if (this.history.length > max) this.history.splice(0, this.history.length - max);
    const worse = severity(to) > severity(from);
    this.logger[worse ? 'warn' : 'info']({ from, to, reason, actions }, worse ? 'degrading' : 'recovering');
    this.listeners.emit('level', change);
    return change;
  }

  private async run<T>(name: string, fn: (() => T | Promise<T>) | undefined, describe?: (result: T) => string | undefined): Promise<Outcome> {
    if (!fn) return { name, ok: false, detail: 'not supported by the host' };
    try {
      const result = await fn();
      const detail = describe?.(result);
      return { name, ok: true, ...(detail ? { detail } : {}) };
    } catch (err) {
      this.logger.error({ action: name, err: errorMessage(err) }, 'degrade action failed');
      return { name, ok: false, detail: errorMessage(err) };
    }
  }

  private thresholdOf(level: DegradeLevel): number {
    const t = this.settings.thresholds;
    return level === 'WARNING' ? t.warning : level === 'DEGRADE' ? t.degrade : t.emergency;
  }
}

function describeTuning(t: RuntimeTuning | void): string | undefined {
  if (!t) return undefined;
  const parts = Object.entries(t).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length ? parts.join(', ') : 'nothing applied';
}
