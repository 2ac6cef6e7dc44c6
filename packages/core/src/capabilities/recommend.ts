import { type Availability, type Device, EchoPanelError, errorMessage } from '@echopanel/plugin-api';
import type { MachineProfile } from './machine-profile.js';
import { MODEL_RESIDENT_MB, WHISPER_MODEL_CHAIN, modelRank } from './model-catalog.js';

/** Whether a model's weights are here. */
export interface ModelAvailability {
  readonly name: string;
  readonly available: boolean;
  readonly reason?: string;
}

/** A provider as capability detection sees it (a registry entry or a created provider fits). */
export interface ProviderCandidate {
  readonly name: string;
  availability(): Promise<Availability> | Availability;
  /** Models whose weights are present (installed + verified); see `modelsFromResolver`. */
  readonly models?: readonly ModelAvailability[] | (() => Promise<readonly ModelAvailability[]> | readonly ModelAvailability[]);
  /** The model the provider is configured with; used when `models` is not given (its availability() checked it). */
  readonly configuredModel?: string;
  /** Devices the provider supports (default: the known provider's, else cpu). */
  readonly devices?: readonly Device[];
}

export interface RecommendedSetup {
  readonly provider: string;
  /** Undefined: the provider's configured model (it did not report which models it has). */
  readonly model?: string;
  readonly chunkSeconds: number;
  readonly computeType: string;
  readonly device: Device;
  readonly vad: boolean;
}

export interface Recommendation extends RecommendedSetup {
  /** e.g. `high-cpu`, `medium-metal`, `ultra-cuda`. */
  readonly tier: string;
  /** A second usable provider (always set when one exists). */
  readonly fallback?: RecommendedSetup;
  /** Why, in order of the decisions made. */
  readonly reasons: readonly string[];
  /** What was considered and why it was not taken. */
  readonly rejected: readonly { readonly provider: string; readonly model?: string; readonly reason: string }[];
}

export const RAM_CLASSES = ['ultra_low', 'low', 'medium', 'high', 'ultra'] as const;
export type RamClass = (typeof RAM_CLASSES)[number];
export type Accelerator = 'cpu' | 'metal' | 'cuda';

const GiB = 1024 ** 3;

/** RAM class with 10% slack, so a "16 GB" machine reporting 15.5 GiB is still the 16 GB class. */
export function ramClass(totalBytes: number): RamClass {
  const gib = totalBytes / GiB;
  if (gib < 3.6) return 'ultra_low';
  if (gib < 7.2) return 'low';
  if (gib < 14.4) return 'medium';
  if (gib < 28.8) return 'high';
  return 'ultra';
}

export function accelerator(profile: MachineProfile): Accelerator {
  if (profile.cuda.available) return 'cuda';
  if (profile.metal) return 'metal';
  return 'cpu';
}

/** Largest model by RAM class (a quarter of RAM or less, leaving the rest to the OS and apps). */
const RAM_MODEL_CAP: Record<RamClass, string> = {
  ultra_low: 'tiny.en',
  low: 'base.en',
  medium: 'small.en',
  high: 'medium.en',
  ultra: 'large-v3',
};

/** Largest model a CPU decodes faster than real time with margin, by cores. */
function coreModelCap(cores: number): string {
  if (cores <= 2) return 'base.en';
  if (cores <= 7) return 'small.en';
  return 'medium.en';
}

const KNOWN_DEVICES: Record<string, readonly Device[]> = {
  'faster-whisper': ['cpu', 'cuda'],
  'whisper-cpp': ['cpu', 'metal'],
  voxtral: ['cpu', 'metal'],
};

const VOXTRAL_MODEL = 'voxtral-mini-4b-realtime';

interface Plan {
  readonly provider: string;
  readonly device: Device;
  readonly computeType: string;
  /** Largest model wanted; smaller available ones are taken when it is missing. Undefined = not a chain model. */
  readonly maxModel?: string;
  readonly fixedModel?: string;
  readonly why: string;
}

/** Ordered plans for a machine: the table behind auto-selection, covering every RAM class × accelerator. */
export function plansFor(profile: MachineProfile): { tier: string; plans: Plan[]; reasons: string[] } {
  const rc = ramClass(profile.totalMemoryBytes);
  const acc = accelerator(profile);
  const tier = `${rc}-${acc}`;
  const reasons: string[] = [];
  const gib = (profile.totalMemoryBytes / GiB).toFixed(1);
  reasons.push(`tier ${tier}: ${gib} GiB RAM, ${profile.cpuCores} core(s), ${acc === 'cpu' ? 'no GPU' : acc === 'metal' ? 'Apple Silicon (Metal)' : `CUDA (${profile.cuda.devices.map((d) => d.name).join(', ')})`}`);
  const ramCap = RAM_MODEL_CAP[rc];
  const cpuCap = minModel(ramCap, coreModelCap(profile.cpuCores));
  if (cpuCap !== ramCap) reasons.push(`CPU decoding capped at ${cpuCap} by ${profile.cpuCores} core(s) (RAM would allow ${ramCap})`);
  else reasons.push(`model size capped at ${ramCap} by RAM`);
  const gpuCap = acc === 'metal' && rc === 'ultra' ? 'large-v3-turbo' : ramCap;
  const plans: Plan[] = [];
  const fwCpu: Plan = { provider: 'faster-whisper', device: 'cpu', computeType: 'int8', maxModel: cpuCap, why: 'CTranslate2 int8 is the fastest CPU path' };
  const cppCpu: Plan = { provider: 'whisper-cpp', device: 'cpu', computeType: 'default', maxModel: cpuCap, why: 'whisper.cpp on CPU' };
  if (acc === 'metal') {
    if (rc === 'ultra') plans.push({ provider: 'voxtral', device: 'metal', computeType: 'bf16', fixedModel: VOXTRAL_MODEL, why: 'enough RAM for Voxtral realtime on Metal' });
    plans.push({ provider: 'whisper-cpp', device: 'metal', computeType: 'fp16', maxModel: gpuCap, why: 'whisper.cpp runs on the Metal GPU (CTranslate2 cannot)' });
    plans.push(fwCpu, cppCpu);
  } else if (acc === 'cuda') {
    plans.push({ provider: 'faster-whisper', device: 'cuda', computeType: 'float16', maxModel: ramCap, why: 'CTranslate2 float16 on the CUDA GPU' });
    plans.push(fwCpu, cppCpu);
  } else {
    plans.push(fwCpu, cppCpu);
  }
  return { tier, plans, reasons };
}

/** Chunk length by machine: slower machines use longer chunks (fewer, more efficient decodes). */
function chunkSecondsFor(rc: RamClass, device: Device): number {
  if (device !== 'cpu') return 2;
  return rc === 'ultra_low' ? 4 : rc === 'low' ? 3 : 2;
}

/**
 * Recommends provider, model, chunk length, compute type, device and VAD for this machine, plus a fallback on a
 * second usable provider, from what is actually available here (providers' `availability()` and the models
 * whose weights are present). Never names an unavailable provider or model. Throws PROVIDER_UNAVAILABLE when
 * nothing is usable, with every provider's reason.
 */
export async function recommend(profile: MachineProfile, providers: readonly ProviderCandidate[]): Promise<Recommendation> {
  const { tier, plans, reasons } = plansFor(profile);
  const rc = ramClass(profile.totalMemoryBytes);
  const rejected: { provider: string; model?: string; reason: string }[] = [];
  const byName = new Map(providers.map((p) => [p.name, p]));
  const state = new Map<string, { availability: Availability; models?: readonly ModelAvailability[] }>();

  const inspect = async (p: ProviderCandidate) => {
    let s = state.get(p.name);
    if (s) return s;
    let availability: Availability;
    try {
      availability = await p.availability();
    } catch (err) {
      availability = { available: false, reason: `availability() threw: ${errorMessage(err)}` };
    }
    let models: readonly ModelAvailability[] | undefined;
    if (availability.available && p.models) {
      try {
        models = typeof p.models === 'function' ? await p.models() : p.models;
      } catch (err) {
        models = [];
        rejected.push({ provider: p.name, reason: `listing models failed: ${errorMessage(err)}` });
      }
    }
    s = { availability, ...(models ? { models } : {}) };
    state.set(p.name, s);
    return s;
  };

  // Known plans first, then any other (third-party) provider on CPU with its configured model.
  const allPlans: Plan[] = [...plans];
  for (const p of providers) {
    if (!plans.some((pl) => pl.provider === p.name) && !(p.name in KNOWN_DEVICES)) {
      const devices = p.devices ?? ['cpu'];
      allPlans.push({ provider: p.name, device: devices.includes('cpu') ? 'cpu' : devices[0], computeType: 'default', why: 'third-party provider' });
    }
  }

  const usable: { plan: Plan; setup: RecommendedSetup; note: string }[] = [];
  for (const plan of allPlans) {
    const p = byName.get(plan.provider);
    if (!p) continue;
    const devices = p.devices ?? KNOWN_DEVICES[p.name] ?? ['cpu'];
    if (!devices.includes(plan.device)) {
      rejected.push({ provider: p.name, reason: `does not support device ${plan.device}` });
      continue;
    }
    const s = await inspect(p);
    if (!s.availability.available) {
      if (!rejected.some((r) => r.provider === p.name && r.reason.startsWith('unavailable'))) {
        rejected.push({ provider: p.name, reason: `unavailable: ${s.availability.reason ?? 'no reason given'}${s.availability.hint ? ` (${s.availability.hint})` : ''}` });
      }
      continue;
    }
    const pick = pickModel(plan, p, s.models, rejected, profile.totalMemoryBytes);
    if (pick === null) continue;
    usable.push({
      plan,
      setup: {
        provider: p.name,
        ...(pick.model ? { model: pick.model } : {}),
        chunkSeconds: chunkSecondsFor(rc, plan.device),
        computeType: plan.computeType,
        device: plan.device,
        vad: rc !== 'ultra_low',
      },
      note: pick.note,
    });
  }

  if (!usable.length) {
    const why = rejected.map((r) => `${r.provider}${r.model ? ` ${r.model}` : ''}: ${r.reason}`).join('; ') || 'no providers are installed';
    throw new EchoPanelError('PROVIDER_UNAVAILABLE', `no ASR provider is usable on this machine (${why})`, {
      details: { tier, rejected },
    });
  }
  const primary = usable[0];
  reasons.push(`${primary.setup.provider}${primary.setup.model ? ` ${primary.setup.model}` : ''} on ${primary.setup.device}: ${primary.plan.why}${primary.note ? `; ${primary.note}` : ''}`);
  for (const earlier of allPlans.slice(0, allPlans.indexOf(primary.plan))) {
    const r = rejected.find((x) => x.provider === earlier.provider);
    if (r) reasons.push(`not ${earlier.provider} on ${earlier.device}: ${r.reason}`);
  }
  reasons.push(`chunks of ${primary.setup.chunkSeconds} s${primary.setup.chunkSeconds > 2 ? ' (longer on a small machine: fewer decodes)' : ''}; VAD ${primary.setup.vad ? 'on' : 'off (saves compute on a very small machine)'}`);

  // Fallback: a different provider, light (at most base.en) so it stays fast when the primary struggles.
  let fallback: RecommendedSetup | undefined;
  const second = usable.find((u) => u.setup.provider !== primary.setup.provider);
  if (second) {
    const p = byName.get(second.setup.provider)!;
    const light = pickModel({ ...second.plan, maxModel: second.plan.maxModel ? minModel(second.plan.maxModel, 'base.en') : undefined }, p, state.get(p.name)?.models, []);
    fallback = { ...second.setup, ...(light?.model ? { model: light.model } : {}) };
    reasons.push(`fallback ${fallback.provider}${fallback.model ? ` ${fallback.model}` : ''} on ${fallback.device} (a second provider, kept light)`);
  } else {
    const others = rejected.filter((r) => r.provider !== primary.setup.provider);
    reasons.push(`no fallback: no second usable provider${others.length ? ` (${others.map((r) => `${r.provider}: ${r.reason}`).join('; ')})` : ''}`);
  }

  return { tier, ...primary.setup, ...(fallback ? { fallback } : {}), reasons, rejected };
}

/** The model a plan gets here: the largest available one not above its cap; null when none. */
function pickModel(
  plan: Plan,
  p: ProviderCandidate,
  models: readonly ModelAvailability[] | undefined,
  rejected: { provider: string; model?: string; reason: string }[],
  totalBytes?: number,
): { model?: string; note: string } | null {
  const wanted = plan.fixedModel ? [plan.fixedModel] : plan.maxModel ? chainDownFrom(plan.maxModel) : [];
  if (!models) {
    // The provider did not list models; its availability() vouched for its configured model.
    if (p.configuredModel) {
      if (plan.maxModel && modelRank(p.configuredModel) > modelRank(plan.maxModel)) {
        rejected.push({ provider: p.name, model: p.configuredModel, reason: `configured model is larger than ${plan.maxModel}, the most this machine runs in real time` });
        return null;
      }
      return { model: p.configuredModel, note: 'the configured model (the provider lists no others)' };
    }
    return { note: "the provider's configured model (it lists no models)" };
  }
  const have = new Map(models.map((m) => [m.name, m]));
  if (!wanted.length) {
    const first = models.find((m) => m.available);
    return first ? { model: first.name, note: '' } : (rejected.push({ provider: p.name, reason: 'no model weights present' }), null);
  }
  const missing: string[] = [];
  for (const name of wanted) {
    const m = have.get(name);
    if (m?.available) {
      return { model: name, note: missing.length ? `${missing.join(', ')} not present here` : '' };
    }
    missing.push(name);
  }
  // Nothing at or below the cap: the smallest bigger one that still fits in half the RAM beats no ASR at all.
  if (plan.maxModel && totalBytes !== undefined) {
    const bigger = (WHISPER_MODEL_CHAIN as readonly string[]).slice(modelRank(plan.maxModel) + 1);
    for (const name of bigger) {
      const mb = MODEL_RESIDENT_MB[p.name]?.[name];
      if (have.get(name)?.available && mb !== undefined && mb * 1024 * 1024 <= totalBytes / 2) {
        return { model: name, note: `only ${name} is present; it is bigger than the ${plan.maxModel} this machine runs best, so expect the degrade ladder to step in` };
      }
    }
  }
  rejected.push({ provider: p.name, reason: `none of ${wanted.join(', ')} is present (install weights, e.g. \`echopanel models pull ${wanted[wanted.length - 1]}\`)` });
  return null;
}

function chainDownFrom(max: string): string[] {
  const i = modelRank(max);
  if (i < 0) return [max];
  return (WHISPER_MODEL_CHAIN as readonly string[]).slice(0, i + 1).reverse();
}

function minModel(a: string, b: string): string {
  return modelRank(a) <= modelRank(b) ? a : b;
}
