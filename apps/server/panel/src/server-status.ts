import { askForKey, authHeaders } from './api-key.js';
import { responseError } from './protocol.js';

export interface Health {
  status: 'ok' | 'loading' | 'error';
  provider?: string;
  model?: string;
  model_state?: string;
  reason?: string;
  /** The model was unloaded (idle); the next stream or upload loads it again. */
  unloaded?: boolean;
}

const POLL_MS = 2000;

/**
 * Watches `/health` until the model is ready, asking for the API key when the server wants one (or refused
 * the one given): reports each state through `show`. One check at a time; later calls join it.
 */
export class ServerWatch {
  private running?: Promise<Health>;

  constructor(
    private readonly dialog: HTMLDialogElement,
    private readonly show: (text: string, health?: Health) => void,
  ) {}

  check(): Promise<Health> {
    this.running ??= this.untilReady().finally(() => (this.running = undefined));
    return this.running;
  }

  private async untilReady(): Promise<Health> {
    for (;;) {
      let res: Response;
      try {
        res = await fetch(new URL('health', location.href), { headers: authHeaders(), cache: 'no-store' });
      } catch {
        this.show('Server unreachable; retrying…');
        await sleep(POLL_MS);
        continue;
      }
      if (res.status === 401) {
        const refused = Object.keys(authHeaders()).length > 0;
        this.show('This server requires an API key.');
        await askForKey(this.dialog, refused ? 'The server refused this key: enter a valid one.' : 'This server requires an API key.');
        continue;
      }
      if (res.status !== 200 && res.status !== 503) {
        this.show(`Server error: ${await responseError(res)}`);
        await sleep(POLL_MS);
        continue;
      }
      const health = (await res.json()) as Health;
      if (health.status === 'ok') {
        const what = health.model ? `: ${health.model}${health.provider ? ` on ${health.provider}` : ''}` : '';
        this.show(`Ready${what}${health.unloaded ? ' (the model loads again at the next stream or upload)' : ''}`, health);
        return health;
      }
      this.show(`Model ${health.model ?? ''} ${health.status === 'error' ? 'failed' : 'loading'}: ${health.reason ?? health.model_state}`, health);
      await sleep(POLL_MS);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
