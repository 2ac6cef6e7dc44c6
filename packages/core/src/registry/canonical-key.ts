import { createHash } from 'node:crypto';

/**
 * Deterministic JSON: object keys sorted, `undefined` members omitted, types kept distinct ("1" vs 1), so two
 * configs get the same key exactly when they are equal (a `|`-joined string would not be).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return JSON.stringify(String(value));
    if (typeof value === 'bigint') return JSON.stringify(`${value}n`);
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** Cache key of a plugin instance: name + the whole validated config, hashed. */
export function instanceKey(name: string, config: unknown): string {
  return `${name}#${createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 32)}`;
}
