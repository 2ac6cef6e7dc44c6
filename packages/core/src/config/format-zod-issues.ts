import type { z } from 'zod';
import { closestKey, schemaKeysAt } from './closest-key.js';

/**
 * `a.b.c: message` for each issue, with the path prefixed by `prefix` (e.g. `providers.acme-echo`). With the
 * `schema` that failed, an unknown key names the closest valid one.
 */
export function formatZodIssues(error: z.ZodError, prefix?: string, schema?: z.ZodType): string {
  return error.issues
    .map((issue) => {
      const parts = [...(prefix ? [prefix] : []), ...issue.path.map(String)];
      if (issue.code === 'unrecognized_keys') {
        const valid = schema ? schemaKeysAt(schema, issue.path) : [];
        return issue.keys
          .map((k) => {
            const near = closestKey(k, valid);
            return `${[...parts, k].join('.')}: unknown key${near ? ` (did you mean "${near}"?)` : valid.length ? ` (valid: ${valid.join(', ')})` : ''}`;
          })
          .join('; ');
      }
      return `${parts.length ? parts.join('.') : '(root)'}: ${issue.message}`;
    })
    .join('; ');
}
