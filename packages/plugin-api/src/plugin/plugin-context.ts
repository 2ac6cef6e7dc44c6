import type { Logger } from '../logging/logger.js';
import type { Clock } from './clock.js';
import type { ModelResolver } from '../models/model-resolver.js';

/** What the host gives a plugin's `create`. */
export interface PluginContext {
  /** Logger bound to the plugin's name. */
  readonly logger: Logger;
  /** Directory of the config file (project root); relative paths in a plugin's config resolve from here. */
  readonly configDir: string;
  /** The project's Python interpreter (`ECHOPANEL_PYTHON`, else `<project>/.venv/bin/python`, else `python3`). */
  readonly pythonPath: string;
  /** Finds model weights: explicit path → store → installed model package → download (when allowed). */
  readonly models: ModelResolver;
  readonly clock: Clock;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * True when the host transcribes once and exits (`echopanel transcribe`): start nothing ahead for later work
   * (spare processes, prefetches) that would only be stopped at exit.
   */
  readonly oneShot?: boolean;
}
