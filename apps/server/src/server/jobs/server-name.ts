import os from 'node:os';

/** This server among replicas, as jobs report who ran them: `host:pid`. */
export function serverName(): string {
  return `${os.hostname()}:${process.pid}`;
}
