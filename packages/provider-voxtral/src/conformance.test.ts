// The plugin SDK's conformance kit against the voxtral.c stand-in, which "recognizes" tone words, not speech.
import { describeProviderConformance } from '@echopanel/plugin-testkit';
import plugin from './index.js';
import { STANDIN, VOCAB, expectedText, makeModelDir, pluginContext, toneWords } from './test-support.fixture.js';

/** Five sentences of the stand-in's vocabulary: 45 words. */
const SENTENCES = [0, 1, 2, 3, 4].map((n) => Array.from({ length: 9 }, (_, i) => VOCAB[(n * 5 + i) % 15]));

describeProviderConformance(plugin, {
  // Eight times real time keeps the run short; the stand-in is faster still.
  config: { binary: STANDIN, modelDir: makeModelDir(), intervalSeconds: 0.5, maxSpeed: 8 },
  context: pluginContext(),
  unavailableConfig: { binary: '/nonexistent/voxtral', modelDir: makeModelDir() },
  corpus: { name: 'voxtral.c stand-in tone words', utterances: SENTENCES.map((words) => ({ text: expectedText(words), samples: toneWords(words) })) },
  // The stand-in is exact: any wrong word is a provider bug, not recognition error.
  werBound: 0.05,
});
