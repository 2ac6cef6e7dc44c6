import type { ModelIdentity } from '../plugin/provider.js';

/** Weight formats the store knows. */
export type ModelFormat = 'ct2' | 'ggml';

/** How a model reference was found (reported in logs and `/model-status`). */
export type ResolvedBy = 'path' | 'store' | 'package' | 'download';

export interface ResolvedModel {
  /** File (ggml) or directory (ct2) to hand to the engine. */
  readonly path: string;
  readonly identity: ModelIdentity;
  readonly resolvedBy: ResolvedBy;
}

export interface ResolveOptions {
  /** Allow downloading when nothing local matches (default: the config's `models.allowDownload`). */
  readonly allowDownload?: boolean;
  /** Verify size + sha256 against the manifest before returning (default true for store models). */
  readonly verify?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Finds model weights for a provider: explicit path → store → installed model package → download.
 * `find` never downloads (for `availability()`); `resolve` may, and throws MODEL_NOT_FOUND / MODEL_CORRUPT.
 */
export interface ModelResolver {
  find(ref: string, format: ModelFormat): Promise<ResolvedModel | undefined>;
  resolve(ref: string, format: ModelFormat, options?: ResolveOptions): Promise<ResolvedModel>;
}
