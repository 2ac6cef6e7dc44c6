import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { EchoPanelError, errorMessage } from '@echopanel/plugin-api';

const require = createRequire(import.meta.url);

/** A transcription segment as smart-whisper's `detail` format returns it (times in ms). */
export interface NativeSegment {
  readonly from: number;
  readonly to: number;
  readonly text: string;
  readonly lang?: string;
  readonly confidence?: number;
  readonly tokens?: readonly { text: string; id: number; p: number; from?: number; to?: number }[];
}

/** whisper_full parameters smart-whisper forwards (the subset this provider sets). */
export interface NativeParams {
  readonly strategy: 0 | 1;
  readonly beam_size?: number;
  readonly n_threads: number;
  readonly language: string;
  readonly initial_prompt?: string;
  readonly token_timestamps: boolean;
  readonly no_context: boolean;
  readonly suppress_blank: boolean;
  readonly suppress_non_speech_tokens: boolean;
  /** Step of the temperature fallback (re-decodes when a result looks wrong); 0 = decode once at temperature 0. */
  readonly temperature_inc?: number;
  /** Encoder positions to run (50 per second of audio); 0 or absent = the model's 1500 (30 s). */
  readonly audio_ctx?: number;
  readonly print_progress: false;
  readonly print_realtime: false;
  readonly print_timestamps: false;
  readonly format: 'detail';
}

type Handle = { readonly __handle: unique symbol };

interface NativeModel {
  readonly handle: Handle | null;
  readonly freed: boolean;
  free(): Promise<void>;
}

/** The parts of smart-whisper's native binding this provider uses. */
interface SmartWhisperModule {
  readonly WhisperModel: { load(file: string, gpu?: boolean): Promise<NativeModel> };
  readonly binding: {
    transcribe(
      handle: Handle,
      pcm: Float32Array,
      params: NativeParams,
      finish: (results: NativeSegment[] | Error) => void,
      progress: (result: NativeSegment) => void,
    ): void;
  };
}

/** How smart-whisper's addon was built (written by scripts/build-smart-whisper.mjs). */
export interface NativeBuildInfo {
  readonly variant: 'native' | 'portable' | 'stock';
  readonly flags: string;
}

let cached: SmartWhisperModule | undefined;

/**
 * Loads smart-whisper and its native addon (once).
 * @throws EchoPanelError PROVIDER_UNAVAILABLE when the package or its addon is missing or does not load.
 */
export function loadSmartWhisper(): SmartWhisperModule {
  if (cached) return cached;
  try {
    cached = require('smart-whisper') as SmartWhisperModule;
    return cached;
  } catch (err) {
    throw new EchoPanelError('PROVIDER_UNAVAILABLE', `smart-whisper's native addon does not load: ${errorMessage(err)}`, {
      cause: err,
      details: { hint: 'run `node scripts/build-smart-whisper.mjs` (or `npm rebuild smart-whisper`)' },
    });
  }
}

let buildInfo: NativeBuildInfo | undefined;

/** The recorded build of the installed addon (read once); `stock` when the build script never ran. */
export function nativeBuildInfo(): NativeBuildInfo {
  if (buildInfo) return buildInfo;
  try {
    const dir = path.dirname(require.resolve('smart-whisper/package.json'));
    const marker = JSON.parse(readFileSync(path.join(dir, 'build', 'echopanel-build.json'), 'utf8')) as NativeBuildInfo;
    buildInfo = { variant: marker.variant, flags: marker.flags };
  } catch {
    buildInfo = { variant: 'stock', flags: '' };
  }
  return buildInfo;
}

/**
 * One loaded whisper.cpp context. Every transcription gets its own whisper_state inside smart-whisper, so
 * several may run at once on one context. The context is only freed once no native call uses it: a call
 * that timed out keeps running on its libuv thread (native code cannot be interrupted), so a retired context
 * waits for it instead of being freed under it.
 */
export class NativeContext {
  private inflight = 0;
  private retired = false;
  private freeing?: Promise<void>;
  private idleWaiters: (() => void)[] = [];

  private constructor(
    private readonly sw: SmartWhisperModule,
    private readonly model: NativeModel,
    readonly file: string,
  ) {}

  /** Loads a ggml file (already checked by inspectGgmlFile). */
  static async load(file: string, gpu: boolean): Promise<NativeContext> {
    const sw = loadSmartWhisper();
    let model: NativeModel;
    try {
      model = await sw.WhisperModel.load(file, gpu);
    } catch (err) {
      throw new EchoPanelError('MODEL_CORRUPT', `whisper.cpp could not load ${file}: ${errorMessage(err)} (see whisper.cpp's log above)`, {
        cause: err,
        details: { path: file },
      });
    }
    return new NativeContext(sw, model, file);
  }

  /** Native calls still running on this context. */
  get running(): number {
    return this.inflight;
  }

  get isRetired(): boolean {
    return this.retired;
  }

  /** Runs whisper_full on `pcm` (16 kHz mono float) in a fresh whisper_state on a libuv worker thread. */
  transcribe(pcm: Float32Array, params: NativeParams): Promise<NativeSegment[]> {
    const handle = this.model.handle;
    if (!handle || this.retired) return Promise.reject(new EchoPanelError('NOT_READY', 'the whisper.cpp context was released'));
    this.inflight++;
    return new Promise<NativeSegment[]>((resolve, reject) => {
      const done = () => {
        this.inflight--;
        if (this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
      };
      try {
        this.sw.binding.transcribe(
          handle,
          pcm,
          params,
          (results) => {
            done();
            // smart-whisper hands a native error to the same callback instead of rejecting.
            if (Array.isArray(results)) resolve(results);
            else reject(new EchoPanelError('INFERENCE_FAILED', `whisper.cpp inference failed: ${errorMessage(results)}`, { cause: results }));
          },
          () => undefined,
        );
      } catch (err) {
        done();
        reject(new EchoPanelError('INFERENCE_FAILED', `whisper.cpp rejected the request: ${errorMessage(err)}`, { cause: err }));
      }
    });
  }

  /** Resolves when no native call runs on this context. */
  idle(): Promise<void> {
    return this.inflight === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * Stops new work and frees the native model once running calls end. Waits at most `waitMs`; a call still
   * running then (a hung inference) keeps the model alive until it returns, and `freed` is false.
   */
  release(waitMs: number): Promise<{ freed: boolean }> {
    this.retired = true;
    if (this.freeing) return this.freeing.then(() => ({ freed: this.model.freed }));
    this.freeing = (async () => {
      if (this.inflight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((r) => this.idleWaiters.push(r)),
          new Promise<void>((r) => {
            timer = setTimeout(r, waitMs);
            timer.unref();
          }),
        ]);
        clearTimeout(timer);
      }
      // Freeing under a running call would be a use-after-free in native code: free when it ends instead.
      if (this.inflight === 0) await this.model.free();
      else this.idleWaiters.push(() => void this.model.free());
    })();
    return this.freeing.then(() => ({ freed: this.model.freed }));
  }
}
