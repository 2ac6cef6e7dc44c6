import { type Availability, errorMessage, type ModelFormat } from '@echopanel/plugin-api';
import type { EchoPanelRuntime } from '../runtime/create-runtime.js';
import { detectMachineProfile, type DetectOptions, type MachineProfile } from './machine-profile.js';
import { WHISPER_MODEL_CHAIN } from './model-catalog.js';
import { modelsFromResolver } from './models-from-resolver.js';
import { recommend, type ProviderCandidate, type Recommendation } from './recommend.js';

/** Weight formats of the providers whose models the resolver knows. */
const PROVIDER_FORMATS: Readonly<Record<string, ModelFormat>> = { 'faster-whisper': 'ct2', 'whisper-cpp': 'ggml' };

/**
 * Every registered provider as a {@link ProviderCandidate}: availability from a created instance (a failing
 * create counts as unavailable, with its message), present models from the runtime's resolver (never
 * downloads), and the configured model from `providers.<name>.model`.
 */
export function providerCandidates(runtime: Pick<EchoPanelRuntime, 'providers' | 'models' | 'config'>): ProviderCandidate[] {
  return runtime.providers.list().map((entry) => {
    const name = entry.name;
    const format = PROVIDER_FORMATS[name];
    const configuredModel = runtime.config.providers[name]?.model;
    // Asked once: availability may start a worker or a Python check.
    let availability: Promise<Availability> | undefined;
    return {
      name,
      availability: () =>
        (availability ??= (async () => {
          try {
            return await (await runtime.providers.create(name)).availability();
          } catch (err) {
            return { available: false, reason: errorMessage(err) };
          }
        })()),
      ...(format ? { models: () => modelsFromResolver(runtime.models, format, WHISPER_MODEL_CHAIN) } : {}),
      ...(typeof configuredModel === 'string' ? { configuredModel } : {}),
    };
  });
}

export interface AutoSelection {
  readonly profile: MachineProfile;
  /** Undefined when nothing is usable (then `error` says why). */
  readonly recommendation?: Recommendation;
  readonly error?: { readonly code: string; readonly message: string };
  /** Per provider: available or why not, and which models are present. */
  readonly providers: readonly { readonly name: string; readonly available: boolean; readonly reason?: string; readonly models?: readonly string[] }[];
}

/** Detects the machine and recommends a setup from the runtime's providers (for `asr.provider: auto`, `doctor`, `/capabilities`). */
export async function autoSelect(runtime: Pick<EchoPanelRuntime, 'providers' | 'models' | 'config'>, detect: DetectOptions = {}): Promise<AutoSelection> {
  const profile = await detectMachineProfile(detect);
  const candidates = providerCandidates(runtime);
  const providers = await Promise.all(
    candidates.map(async (c) => {
      const a = await c.availability();
      const models = a.available && c.models ? (typeof c.models === 'function' ? await c.models() : c.models) : undefined;
      return {
        name: c.name,
        available: a.available,
        ...(a.available ? {} : { reason: `${a.reason ?? 'unavailable'}${a.hint ? ` (${a.hint})` : ''}` }),
        ...(models ? { models: models.filter((m) => m.available).map((m) => m.name) } : {}),
      };
    }),
  );
  try {
    return { profile, recommendation: await recommend(profile, candidates), providers };
  } catch (err) {
    const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'INTERNAL';
    return { profile, error: { code, message: errorMessage(err) }, providers };
  }
}
