import type { ModelFormat, ModelResolver } from '@echopanel/plugin-api';
import type { ModelAvailability } from './recommend.js';

/** Which of `names` have weights here, without downloading (for {@link ProviderCandidate.models}). */
export async function modelsFromResolver(resolver: ModelResolver, format: ModelFormat, names: readonly string[]): Promise<ModelAvailability[]> {
  return Promise.all(
    names.map(async (name) => {
      try {
        const found = await resolver.find(name, format);
        return found ? { name, available: true } : { name, available: false, reason: 'weights not present' };
      } catch (err) {
        return { name, available: false, reason: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
}
