import { LocalAgreement } from './local-agreement.js';

describe('LocalAgreement', () => {
  it('confirms the prefix two successive hypotheses share, ignoring case and punctuation', () => {
    const la = new LocalAgreement();
    expect(la.update('the quick brown')).toEqual({ stable: '', unstable: 'the quick brown', text: 'the quick brown' });
    expect(la.update('The quick, brown fox')).toEqual({ stable: 'The quick, brown', unstable: 'fox', text: 'The quick, brown fox' });
  });

  it('never takes back confirmed words when a later decode disagrees', () => {
    const la = new LocalAgreement();
    la.update('we will meet');
    la.update('we will meet at');
    const r = la.update('we well meet at the station');
    expect(r.stable).toBe('we will meet');
    expect(r.text).toBe('we will meet at the station');
  });

  it('starts over after reset', () => {
    const la = new LocalAgreement();
    la.update('hello there');
    la.update('hello there friend');
    la.reset();
    expect(la.update('another thing').stable).toBe('');
  });
});
