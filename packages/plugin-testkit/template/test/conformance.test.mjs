// The EchoPanel conformance kit, one test per check, on node's own test runner (`npm test` builds first).
import { after, describe, it } from 'node:test';
import { describeProviderConformance } from '@echopanel/plugin-testkit';
import plugin from '../dist/index.js';
import options from './conformance-options.mjs';

describeProviderConformance(plugin, options, { describe, it, after });
