import { canonicalJson, instanceKey } from './canonical-key.js';

describe('instanceKey', () => {
  it('ignores key order and undefined members', () => {
    expect(instanceKey('p', { a: 1, b: { c: [1, 2], d: undefined } })).toBe(instanceKey('p', { b: { c: [1, 2] }, a: 1 }));
  });

  it('keeps types and values apart where a joined string would collide', () => {
    expect(instanceKey('p', { model: 'a|b', device: 'c' })).not.toBe(instanceKey('p', { model: 'a', device: 'b|c' }));
    expect(instanceKey('p', { n: 1 })).not.toBe(instanceKey('p', { n: '1' }));
    expect(instanceKey('p', { list: [1, 2] })).not.toBe(instanceKey('p', { list: [2, 1] }));
    expect(instanceKey('p', {})).not.toBe(instanceKey('q', {}));
  });

  it('writes deterministic JSON', () => {
    expect(canonicalJson({ z: 1, a: [true, null, 'x'] })).toBe('{"a":[true,null,"x"],"z":1}');
  });
});
