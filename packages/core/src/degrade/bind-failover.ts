import type { DegradeLadder } from './degrade-ladder.js';
import type { FailoverProvider } from './failover-provider.js';

/**
 * Keeps the ladder's level in step with a failover pair: a failover or recovery the pair did on its own (e.g.
 * errors mid-stream) moves the ladder to/from FAILOVER. Returns the unsubscribe function.
 */
export function bindFailoverToLadder(ladder: DegradeLadder, pair: FailoverProvider): () => void {
  return pair.on('switch', (s) => {
    const done = s.to === 'fallback' ? ladder.reportFailover(s.reason) : ladder.reportRecovered(s.reason);
    done.catch(() => undefined);
  });
}
