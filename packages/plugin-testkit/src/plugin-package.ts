import { mkdirSync, symlinkSync, writeFileSync, existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PluginPackageSpec {
  /** Package name, e.g. `@acme/echopanel-provider-echo`. */
  readonly name: string;
  readonly version?: string;
  /** ESM source of the package's `index.js`. */
  readonly source: string;
  /** peerDependencies to declare (default: @echopanel/plugin-api, zod). */
  readonly peerDependencies?: Record<string, string>;
}

/**
 * Writes a plugin package into `<projectDir>/node_modules/<name>` as npm would install it, and links the
 * peers it needs (@echopanel/plugin-api, zod) from this installation, so a project outside the workspace can load it
 * by name. For plugin authors' integration tests.
 */
export function writePluginPackage(projectDir: string, spec: PluginPackageSpec): string {
  const dir = path.join(projectDir, 'node_modules', ...spec.name.split('/'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify(
      {
        name: spec.name,
        version: spec.version ?? '1.0.0',
        type: 'module',
        exports: { '.': './index.js' },
        peerDependencies: spec.peerDependencies ?? { '@echopanel/plugin-api': '*', zod: '*' },
      },
      null,
      2,
    ),
  );
  writeFileSync(path.join(dir, 'index.js'), spec.source);
  linkPeer(projectDir, '@echopanel/plugin-api');
  linkPeer(projectDir, 'zod');
  return dir;
}

/** Symlinks a package of this installation into `<projectDir>/node_modules` (like a hoisted peer). */
export function linkPeer(projectDir: string, pkg: string): void {
  const target = path.join(projectDir, 'node_modules', ...pkg.split('/'));
  if (existsSync(target)) return;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const pkgJson = createRequire(path.join(here, 'x.js')).resolve(`${pkg}/package.json`);
  mkdirSync(path.dirname(target), { recursive: true });
  symlinkSync(realpathSync(path.dirname(pkgJson)), target, 'dir');
}

/** Source of a small but real provider plugin: emits `<prefix>: <n> samples` per chunk, with exact accounting. */
export function echoProviderSource(options: { name?: string; apiVersion?: number; createThrows?: string } = {}): string {
  return `import { defineProvider } from '@echopanel/plugin-api';
import { z } from 'zod';

class AcmeEcho {
  constructor(config) {
    this.name = ${JSON.stringify(options.name ?? 'acme-echo')};
    this.config = config;
    this.loaded = false;
    this.capabilities = { streaming: true, partialResults: false, wordTimestamps: false, languages: ['en'], devices: ['cpu'] };
  }
  async availability() { return { available: true }; }
  async load() { this.loaded = true; }
  async unload() { this.loaded = false; }
  async *transcribe(audio, opts) {
    let offset = 0;
    for await (const frame of audio) {
      const start = offset / opts.sampleRate;
      offset += frame.length;
      opts.onEvent?.({ type: 'transcribed', samples: frame.length, start, end: offset / opts.sampleRate });
      yield { text: this.config.prefix + ': ' + frame.length + ' samples', start, end: offset / opts.sampleRate, isFinal: true, source: opts.source };
    }
  }
  health() {
    return { provider: this.name, state: this.loaded ? 'READY' : 'UNINITIALIZED', rtf: 0, avgInferMs: 0, p50InferMs: 0, p95InferMs: 0, p99InferMs: 0, inferences: 0, backlog: 0, droppedChunks: 0, modelResident: this.loaded, consecutiveErrors: 0, restarts: 0,
      memory: { processRssBytes: process.memoryUsage().rss, workerRssBytes: 0 }, sessions: { active: 0, total: 0, receivedSamples: 0, transcribedSamples: 0, skippedSamples: 0, droppedSamples: 0 } };
  }
}

export default defineProvider({
  name: ${JSON.stringify(options.name ?? 'acme-echo')},
  apiVersion: ${options.apiVersion ?? 1},
  configSchema: z.object({ prefix: z.string().default('echo') }),
  create: (config) => {${options.createThrows ? ` throw new Error(${JSON.stringify(options.createThrows)});` : ''}
    return new AcmeEcho(config);
  },
});
`;
}
