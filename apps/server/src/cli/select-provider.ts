import { EchoPanelError, errorMessage, type ASRProvider, type EchoPanelRuntime } from '@echopanel/core';

/**
 * The provider to use: `--provider`, else `asr.provider`; `auto` takes the first available provider in order
 * of preference (the server's capability detection refines this).
 */
export async function selectProvider(runtime: EchoPanelRuntime, requested?: string): Promise<ASRProvider> {
  const name = requested ?? runtime.config.asr.provider;
  if (name !== 'auto') {
    const failure = runtime.failures.find((f) => f.mapName === name);
    if (failure && !runtime.providers.has(name)) throw failure.error;
    const provider = await runtime.providers.create(name);
    const availability = await provider.availability();
    if (!availability.available) {
      throw new EchoPanelError('PROVIDER_UNAVAILABLE', `provider '${name}' is not available: ${availability.reason ?? 'unknown reason'}${availability.hint ? ` (${availability.hint})` : ''}`);
    }
    return provider;
  }
  const reasons: string[] = [];
  const preference = ['faster-whisper', 'whisper-cpp', 'voxtral'];
  const names = [...preference.filter((n) => runtime.providers.has(n)), ...runtime.providers.list().map((p) => p.name).filter((n) => !preference.includes(n))];
  for (const candidate of names) {
    try {
      const provider = await runtime.providers.create(candidate);
      const a = await provider.availability();
      if (a.available) return provider;
      reasons.push(`${candidate}: ${a.reason}`);
    } catch (err) {
      reasons.push(`${candidate}: ${errorMessage(err)}`);
    }
  }
  throw new EchoPanelError('PROVIDER_UNAVAILABLE', `no provider is available (${reasons.join('; ') || 'none registered'})`);
}
