// The plugin SDK's conformance kit against the real worker and tiny.en (one provider shared by every check).
import { describeProviderConformance } from '@echopanel/plugin-testkit';
import plugin from './index.js';
import { testContext } from './__fixtures__/test-context.js';

describeProviderConformance(plugin, {
  config: { computeType: 'int8' },
  context: testContext(),
  unavailableConfig: { pythonPath: '/nonexistent/bin/python3' },
});
