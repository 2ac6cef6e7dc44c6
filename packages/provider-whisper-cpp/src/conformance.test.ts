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
});
