import path from 'node:path';
import { checkPluginExport } from '@echopanel/core';
import * as mod from './index.js';
import { STANDIN, makeModelDir, pluginContext } from './test-support.fixture.js';

describe('voxtral plugin', () => {
  it('is a provider plugin the host accepts, with defaulted config', () => {
    const plugin = checkPluginExport(mod, 'voxtral', '@echopanel/provider-voxtral');
    expect(plugin).toMatchObject({ kind: 'provider', name: 'voxtral' });
    expect(plugin.configSchema.parse({})).toMatchObject({
      intervalSeconds: 2,
      readyTimeoutMs: 30000,
      restartLimit: 3,
      stopGraceMs: 5000,
      silent: false,
      keepWarm: true,
      maxSpeed: 2,
      env: {},
    });
    expect(plugin.configSchema.safeParse({ intervalSeconds: 0 }).success).toBe(false);
    expect(plugin.configSchema.safeParse({ replayMarginSeconds: 30, maxReplaySeconds: 20 }).success).toBe(false);
    expect(plugin.configSchema.safeParse({ unknownKey: 1 }).success).toBe(false);
  });

  it('takes binary and model dir from VOXTRAL_BIN / VOXTRAL_MODEL_DIR, relative paths from the config dir', async () => {
    const model = makeModelDir();
    const fromEnv = await mod.default.create(mod.voxtralConfigSchema.parse({}), pluginContext({ VOXTRAL_BIN: STANDIN, VOXTRAL_MODEL_DIR: model }));
    expect(fromEnv).toMatchObject({ name: 'voxtral', binary: STANDIN, modelDir: model });
    expect(await fromEnv.availability()).toEqual({ available: true });
    const relative = await mod.default.create(
      mod.voxtralConfigSchema.parse({ modelDir: 'weights/voxtral' }),
      pluginContext({ VOXTRAL_BIN: undefined, VOXTRAL_MODEL_DIR: undefined }, '/srv/app'),
    );
    expect(relative).toMatchObject({ binary: 'voxtral', modelDir: path.join('/srv/app', 'weights/voxtral') });
    expect(relative.capabilities).toMatchObject({ streaming: true, partialResults: true, decode: false });
  });
});
