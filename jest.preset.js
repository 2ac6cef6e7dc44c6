// Shared jest preset: TypeScript through @swc/jest as native ESM, with decorator metadata for tsyringe.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(fileURLToPath(import.meta.url));

/** @param {string} configUrl import.meta.url of the package's jest.config.js */
export function jestPreset(configUrl) {
  const pkgDir = path.dirname(fileURLToPath(configUrl));
  return {
    rootDir: pkgDir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/src/**/*.test.ts'],
    extensionsToTreatAsEsm: ['.ts'],
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        {
          jsc: {
            parser: { syntax: 'typescript', decorators: true },
            transform: { legacyDecorator: true, decoratorMetadata: true },
            target: 'es2022',
          },
          module: { type: 'es6' },
        },
      ],
    },
    // Tests run on sources: every @echopanel/* import (including those made by built plugin packages loaded
    // through the real import path) maps to the one copy of the sources, so identity checks hold.
    moduleNameMapper: {
      '^@echopanel/core$': path.join(root, 'packages/core/src/index.ts'),
      '^@echopanel/plugin-api$': path.join(root, 'packages/plugin-api/src/index.ts'),
      '^@echopanel/engine-kit$': path.join(root, 'packages/engine-kit/src/index.ts'),
      '^@echopanel/whisper-models$': path.join(root, 'packages/whisper-models/src/index.ts'),
      '^@echopanel/whisper-models/testing$': path.join(root, 'packages/whisper-models/src/testing/index.ts'),
      '^@echopanel/plugin-testkit$': path.join(root, 'packages/plugin-testkit/src/index.ts'),
      '^@echopanel/vad-silero$': path.join(root, 'packages/vad-silero/src/index.ts'),
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    testTimeout: 120000,
    maxWorkers: 1,
  };
}
