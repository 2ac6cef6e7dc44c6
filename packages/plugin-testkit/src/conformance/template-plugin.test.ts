// The generator's template plugin (a DTMF engine) passes the kit: the same run `echopanel plugin new` packages do.
import plugin, { dtmfCorpus } from '../../template/src/index.js';
import { describeProviderConformance } from './index.js';

describeProviderConformance(plugin, {
  corpus: dtmfCorpus(),
  werBound: 0.05,
  skip: { 'unavailable-reasons': 'the DTMF engine runs in-process and needs nothing installed' },
});
