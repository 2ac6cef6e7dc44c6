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

export interface EchoProviderOptions {
  readonly name?: string;
  readonly apiVersion?: number;
  /** `create` throws this message. */
  readonly createThrows?: string;
  /** Each frame takes this many times its own duration (a real sleep): 3 is a plugin 3× slower than real time. */
  readonly slowFactor?: number;
  /** `transcribe` throws once this many seconds of audio arrived (an engine that dies mid-stream). */
  readonly failAfterSeconds?: number;
  /** Adds a `health()` that throws, or that returns an object outside the contract. */
  readonly health?: 'throws' | 'garbage';
}

/**
 * Source of a small but real provider plugin, written as the minimal contract asks: `defineProvider`, `load`,
 * `unload`, `availability` and an async-generator `transcribe` that answers each frame with a final
 * `<prefix>: <n> samples` — no `health()`, no accounting events (the host measures and accounts).
 */
export function echoProviderSource(options: EchoProviderOptions = {}): string {
  const name = JSON.stringify(options.name ?? 'acme-echo');
  const health =
    options.health === 'throws'
      ? `\n  health() { throw new Error('acme engine status socket closed'); }`
      : options.health === 'garbage'
        ? `\n  health() { return { state: 'FINE', memory: 'lots', uptime: 12 }; }`
        : '';
  return `import { defineProvider } from '@echopanel/plugin-api';
import { z } from 'zod';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class AcmeEcho {
  constructor(config) {
    this.name = ${name};
    this.config = config;
    this.capabilities = { streaming: true, partialResults: false, wordTimestamps: false, languages: ['en'], devices: ['cpu'] };
  }
  async availability() { return { available: true }; }
  async load() {}
  async unload() {}
  async *transcribe(audio, opts) {
    let offset = 0;
    for await (const frame of audio) {
      const start = offset / opts.sampleRate;
      offset += frame.length;
      ${options.failAfterSeconds !== undefined ? `if (offset / opts.sampleRate > ${options.failAfterSeconds}) throw new Error('acme engine crashed');` : ''}
      ${options.slowFactor ? `await sleep((frame.length / opts.sampleRate) * 1000 * ${options.slowFactor});` : ''}
      yield { text: this.config.prefix + ': ' + frame.length + ' samples', start, end: offset / opts.sampleRate, isFinal: true, source: opts.source };
    }
  }${health}
}

export default defineProvider({
  name: ${name},
  apiVersion: ${options.apiVersion ?? 1},
  configSchema: z.object({ prefix: z.string().default('echo') }),
  create: (config) => {${options.createThrows ? ` throw new Error(${JSON.stringify(options.createThrows)});` : ''}
    return new AcmeEcho(config);
  },
});
`;
}
