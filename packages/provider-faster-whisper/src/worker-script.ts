import { fileURLToPath } from 'node:url';

/**
 * The worker script shipped in the package (`worker/worker.py`), found next to the compiled module (`dist/`)
 * or the sources (`src/`): both are one level below the package root.
 */
export const WORKER_SCRIPT_PATH: string = fileURLToPath(new URL('../worker/worker.py', import.meta.url));
