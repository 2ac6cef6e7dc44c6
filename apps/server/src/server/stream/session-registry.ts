import { randomUUID } from 'node:crypto';

/** One streaming connection as the registry sees it. */
export interface RegisteredStream {
  readonly session: string;
  readonly source: string;
}

/**
 * Live streams grouped by session id: several connections (one per source, e.g. mic + system) may share a
 * session. Bounds the number of concurrent streams.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, Set<string>>();
  private count = 0;

  constructor(private readonly maxStreams: number) {}

  get activeStreams(): number {
    return this.count;
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Sources streaming in a session. */
  sources(session: string): string[] {
    return [...(this.sessions.get(session) ?? [])];
  }

  /**
   * Registers a stream; returns an error code + message instead when the limit is reached or the source is
   * already streaming in that session.
   */
  join(source: string, session?: string): RegisteredStream | { code: string; message: string } {
    if (this.count >= this.maxStreams) {
      return {
        code: 'TOO_MANY_SESSIONS',
        message: `the server already carries ${this.count} streams (server.limits.maxSessions = ${this.maxStreams}); try again later`,
      };
    }
    const id = session ?? randomUUID();
    const set = this.sessions.get(id) ?? new Set<string>();
    if (set.has(source)) {
      return { code: 'SOURCE_IN_USE', message: `session ${id} already has a "${source}" stream; use another source name` };
    }
    set.add(source);
    this.sessions.set(id, set);
    this.count++;
    return { session: id, source };
  }

  leave(stream: RegisteredStream): void {
    const set = this.sessions.get(stream.session);
    if (!set?.delete(stream.source)) return;
    this.count--;
    if (set.size === 0) this.sessions.delete(stream.session);
  }
}
