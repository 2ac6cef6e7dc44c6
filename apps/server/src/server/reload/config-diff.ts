/** The dotted paths whose values differ between two configs (leaves; arrays compare whole). */
export function changedPaths(before: unknown, after: unknown, prefix = ''): string[] {
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => changedPaths(before[k], after[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [prefix];
}

/** Paths the listener is built from: changing them needs a restart. */
const LISTENER_PATHS = ['server.host', 'server.port', 'server.tls'];

/** Whether `path` is `prefix` or inside it. */
export function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}.`);
}

/** Why a changed path is not applied by a reload. */
export function restartReason(path: string): string {
  return LISTENER_PATHS.some((p) => isUnder(path, p))
    ? 'the listener is bound at start; restart the server to apply it'
    : 'read when the server starts; restart the server to apply it';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
