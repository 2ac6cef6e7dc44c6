import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Feeds a file (or its first `end` bytes) into a hash. */
export async function hashFileInto(hash: Hash, file: string, end?: number): Promise<void> {
  if (end === 0) return;
  const stream = createReadStream(file, end === undefined ? {} : { end: end - 1 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
}

/** sha256 (hex) of a file. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFileInto(hash, file);
  return hash.digest('hex');
}
