// What the conformance kit is told about this provider: read by test/conformance.test.mjs and by
// `echopanel plugin test .`.
import { dtmfCorpus } from '../dist/index.js';

export default {
  // The plugin's config slice, as a user writes it under `providers.<name>`.
  config: {},
  // This engine hears keypad tones, not speech. Once yours transcribes speech, delete `corpus` and `werBound`:
  // the kit then uses espeak-ng speech and a pooled WER bound of 45 %.
  corpus: dtmfCorpus(),
  werBound: 0.05,
  skip: {
    // Once your engine needs something installed (a binary, a model), give the kit a config without it,
    // e.g. unavailableConfig: { modelPath: '/nonexistent' }, and delete this line.
    'unavailable-reasons': 'the DTMF engine runs in-process and needs nothing installed',
  },
};
