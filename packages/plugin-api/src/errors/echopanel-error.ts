/** Stable error codes. Plugins may add their own (any UPPER_SNAKE string). */
export type KnownErrorCode =
  | 'CONFIG_NOT_FOUND'
  | 'INVALID_CONFIG'
  | 'PLUGIN_NOT_INSTALLED'
  | 'PLUGIN_LOAD_FAILED'
  | 'INVALID_PLUGIN'
  | 'INCOMPATIBLE_API'
  | 'PROVIDER_NOT_FOUND'
  | 'DUPLICATE_PROVIDER'
  | 'PROVIDER_UNAVAILABLE'
  | 'PROVIDER_CREATE_FAILED'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_CORRUPT'
  | 'CHECKSUM_MISMATCH'
  | 'DOWNLOAD_FAILED'
  | 'DOWNLOAD_TIMEOUT'
  | 'INSUFFICIENT_DISK'
  | 'INVALID_MODEL_NAME'
  | 'INFERENCE_TIMEOUT'
  | 'INFERENCE_FAILED'
  | 'WORKER_CRASHED'
  | 'WORKER_START_FAILED'
  | 'INVALID_AUDIO'
  | 'UNSUPPORTED_AUDIO_FORMAT'
  | 'UNSUPPORTED_SAMPLE_RATE'
  | 'NOT_READY'
  | 'INIT_TIMEOUT'
  | 'INVALID_STATE'
  | 'ABORTED'
  | 'WARMUP_BUDGET_EXCEEDED'
  | 'NOT_SUPPORTED'
  | 'FAILOVER_FAILED'
  | 'LISTEN_FAILED'
  | 'INTERNAL_ERROR';

export type ErrorCode = KnownErrorCode | (string & {});

const BRAND = Symbol.for('echopanel.error');

/**
 * The one error type of EchoPanel: a stable `code` a program can switch on and a message a person can act on.
 * Identity is checked by brand ({@link isEchoPanelError}), not `instanceof`, so errors thrown by a second copy
 * of core (a plugin with its own install) are still recognised.
 */
export class EchoPanelError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  readonly details?: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EchoPanelError';
    this.code = code;
    if (options.details) this.details = Object.freeze({ ...options.details });
  }

  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, ...(this.details ? { details: { ...this.details } } : {}) };
  }
}

/** True for any EchoPanelError, from this copy of core or another. */
export function isEchoPanelError(err: unknown): err is EchoPanelError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

/** True when `err` is an EchoPanelError with this code. */
export function hasErrorCode(err: unknown, code: ErrorCode): err is EchoPanelError {
  return isEchoPanelError(err) && err.code === code;
}

/** The message of anything thrown, for one-line reports. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
