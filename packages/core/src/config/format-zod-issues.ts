import type { z } from 'zod';

/** `a.b.c: message` for each issue, with the path prefixed by `prefix` (e.g. `providers.acme-echo`). */
export function formatZodIssues(error: z.ZodError, prefix?: string): string {
  return error.issues
    .map((issue) => {
      const parts = [...(prefix ? [prefix] : []), ...issue.path.map(String)];
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((k) => `${[...parts, k].join('.')}: unknown key`).join('; ');
      }
      return `${parts.length ? parts.join('.') : '(root)'}: ${issue.message}`;
    })
    .join('; ');
}
