import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { errorMessage, silentLogger, type Logger } from '@echopanel/plugin-api';
import { configSourceFiles } from './typescript-loader.js';

export interface ConfigWatcherOptions {
  /** Called once per burst of changes (editors write a file in several steps). */
  readonly onChange: (file: string) => void;
  /** Quiet time that ends a burst (default 300 ms). */
  readonly debounceMs?: number;
  readonly logger?: Logger;
}

/** A watch on a config file and the files it imports; see {@link watchConfig}. */
export interface ConfigWatcher {
  /** The files watched now (absolute). */
  files(): readonly string[];
  /** Re-reads what the config imports (after a reload: an edit may have added or dropped an import). */
  refresh(): Promise<void>;
  close(): void;
}

/**
 * Watches a config file and the local files it imports. Directories are watched rather than files, so an
 * editor that saves by writing a new file and renaming it over the old one is still seen.
 */
export async function watchConfig(configFile: string, options: ConfigWatcherOptions): Promise<ConfigWatcher> {
  const logger = options.logger ?? silentLogger;
  const debounceMs = options.debounceMs ?? 300;
  const watchers = new Map<string, FSWatcher>();
  let files = new Set<string>([path.resolve(configFile)]);
  let timer: NodeJS.Timeout | undefined;
  let changed = '';
  let closed = false;

  const fire = (file: string) => {
    changed = file;
    clearTimeout(timer);
    timer = setTimeout(() => options.onChange(changed), debounceMs);
  };
  const sync = () => {
    const dirs = new Set([...files].map((f) => path.dirname(f)));
    for (const [dir, w] of watchers) {
      if (!dirs.has(dir)) {
        w.close();
        watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      try {
        const w = watch(dir, (_event, name) => {
          const file = name ? path.join(dir, name.toString()) : undefined;
          if (file && files.has(file)) fire(file);
        });
        w.on('error', (err) => logger.warn({ dir, err: errorMessage(err) }, 'config watch failed'));
        watchers.set(dir, w);
      } catch (err) {
        logger.warn({ dir, err: errorMessage(err) }, 'cannot watch the config directory; reload with SIGHUP or POST /v1/admin/reload');
      }
    }
  };
  const refresh = async () => {
    try {
      const next = await configSourceFiles(configFile);
      if (closed) return;
      files = new Set([path.resolve(configFile), ...next]);
    } catch (err) {
      // A config that does not build is reported by the reload; keep watching what it was made of.
      logger.debug({ err: errorMessage(err) }, 'could not list what the config imports');
    }
    if (!closed) sync();
  };
  await refresh();
  return {
    files: () => [...files],
    refresh,
    close: () => {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
