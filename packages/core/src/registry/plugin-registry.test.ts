import { z } from 'zod';
import {
  type ASRProvider,
  defineProvider,
  type PluginContext,
  type ProviderPlugin,
  silentLogger,
  systemClock,
} from '@echopanel/plugin-api';
import { PluginRegistry } from './plugin-registry.js';
import type { RegistryEvent } from './registry-events.js';

const ctx: PluginContext = {
  logger: silentLogger,
  configDir: process.cwd(),
  pythonPath: 'python3',
  models: {
    find: async () => undefined,
    resolve: async () => {
      throw new Error('no models in this test');
    },
  },
  clock: systemClock,
  env: {},
};

function countingPlugin(name = 'counter') {
  const created: Array<{ prefix: string; size: number }> = [];
  const unloaded: string[] = [];
  const plugin = defineProvider({
    name,
    apiVersion: 1,
    configSchema: z.object({ prefix: z.string().default('x'), size: z.number().int().default(1) }),
    create: async (config) => {
      await new Promise((r) => setTimeout(r, 5));
      created.push(config);
      return {
        name,
        capabilities: { streaming: false, partialResults: false, wordTimestamps: false, languages: ['en'], devices: ['cpu'] },
        availability: async () => ({ available: true }),
        load: async () => undefined,
        unload: async () => {
          unloaded.push(config.prefix);
        },
        async *transcribe() {},
        health: () => {
          throw new Error('not used');
        },
      };
    },
  });
  return { plugin, created, unloaded };
}

function registry(slices: Record<string, unknown> = {}) {
  return new PluginRegistry<ProviderPlugin, ASRProvider>('provider', () => ctx, (n) => slices[n], silentLogger);
}

describe('PluginRegistry', () => {
  it('registers, lists, gets, and refuses a second plugin with the same name', () => {
    const r = registry();
    const events: RegistryEvent[] = [];
    r.on((e) => events.push(e));
    r.register(countingPlugin('a').plugin, { packageName: '@x/a' });
    expect(r.has('a')).toBe(true);
    expect(r.list().map((p) => p.name)).toEqual(['a']);
    expect(() => r.register(countingPlugin('a').plugin, { packageName: '@y/a' })).toThrow(
      expect.objectContaining({ code: 'DUPLICATE_PROVIDER', message: expect.stringContaining('@x/a and by @y/a') }),
    );
    expect(r.get('a').origin.packageName).toBe('@x/a');
    expect(events).toEqual([{ type: 'registered', name: 'a', packageName: '@x/a', version: undefined }]);
  });

  it('says which providers exist when one is not found', () => {
    const r = registry();
    r.register(countingPlugin('a').plugin);
    expect(() => r.get('b')).toThrow(expect.objectContaining({ code: 'PROVIDER_NOT_FOUND', message: expect.stringContaining('registered: a') }));
  });

  it('validates the slice with the plugin schema before creating, naming the exact path', async () => {
    const { plugin, created } = countingPlugin('acme-echo');
    const r = registry({ 'acme-echo': { prefix: 42 } });
    r.register(plugin);
    await expect(r.create('acme-echo')).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/^providers\.acme-echo\.prefix: .*expected string/),
    });
    expect(created).toHaveLength(0);
  });

  it('caches by the whole validated config and shares one instance between concurrent creates', async () => {
    const { plugin, created } = countingPlugin();
    const r = registry({ counter: { prefix: 'p' } });
    r.register(plugin);
    const [a, b, c] = await Promise.all([r.create('counter'), r.create('counter'), r.create('counter', { prefix: 'p', size: 1 })]);
    expect(a).toBe(b);
    expect(a).toBe(c); // defaults applied before keying: {prefix:'p'} ≡ {prefix:'p', size:1}
    const d = await r.create('counter', { prefix: 'p', size: 2 });
    expect(d).not.toBe(a);
    expect(created).toEqual([
      { prefix: 'p', size: 1 },
      { prefix: 'p', size: 2 },
    ]);
  });

  it('wraps a throwing create as PROVIDER_CREATE_FAILED, emits failed, and lets a later create retry', async () => {
    let fail = true;
    const plugin = defineProvider({
      name: 'flaky',
      apiVersion: 1,
      configSchema: z.object({}),
      create: () => {
        if (fail) throw new Error('GPU on fire');
        return countingPluginInstance();
      },
    });
    const r = registry();
    r.register(plugin);
    const events: RegistryEvent[] = [];
    r.on((e) => events.push(e));
    await expect(r.create('flaky')).rejects.toMatchObject({ code: 'PROVIDER_CREATE_FAILED', message: expect.stringContaining('GPU on fire') });
    expect(events.map((e) => e.type)).toEqual(['failed']);
    fail = false;
    await expect(r.create('flaky')).resolves.toBeDefined();
  });

  it('disposes instances (unload) and emits unloaded; load emits loaded', async () => {
    const { plugin, unloaded } = countingPlugin();
    const r = registry();
    r.register(plugin);
    const events: string[] = [];
    r.on((e) => events.push(e.type));
    await r.load('counter', { prefix: 'one' });
    await r.create('counter', { prefix: 'two' });
    await r.dispose('counter');
    expect(unloaded.sort()).toEqual(['one', 'two']);
    expect(events).toEqual(['created', 'loaded', 'created', 'unloaded', 'unloaded']);
    // After dispose a create makes a fresh instance.
    await r.create('counter', { prefix: 'one' });
    expect(events.at(-1)).toBe('created');
  });
});

function countingPluginInstance(): ASRProvider {
  return {
    name: 'flaky',
    capabilities: { streaming: false, partialResults: false, wordTimestamps: false, languages: ['en'], devices: ['cpu'] },
    availability: async () => ({ available: true }),
    load: async () => undefined,
    unload: async () => undefined,
    async *transcribe() {},
    health: () => {
      throw new Error('not used');
    },
  };
}
