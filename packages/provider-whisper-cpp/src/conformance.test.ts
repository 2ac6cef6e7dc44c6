// The plugin SDK's conformance kit against real whisper.cpp and the converted tiny.en (one provider shared by every check).
import path from 'node:path';
import os from 'node:os';
import { describeProviderConformance } from '@echopanel/plugin-testkit';
import plugin from './index.js';
import { bundledTinyEn, testContext } from './__fixtures__/test-context.js';

beforeAll(() => bundledTinyEn());

describeProviderConformance(plugin, {
  context: testContext(),
  unavailableConfig: { model: path.join(os.tmpdir(), 'echopanel-conformance-missing', 'ggml-nothing.bin') },
  skip: {
    // Known gap (reported on issue 16): a stream running through unload() starts the engine again and runs on
    // without an error, so its client never hears that the transcript was cut.
    'unload-during-stream': 'a stream running through unload() reloads the engine and runs on (known gap, issue 16)',
  },
});
