import type { Segment } from '@echopanel/plugin-api';
import { SegmentChannel } from './segment-channel.js';

const seg = (text: string, isFinal: boolean): Segment => ({ text, start: 0, end: 0, isFinal });

describe('SegmentChannel', () => {
  it('replaces a queued partial with a newer one, keeps finals, and ends with the close error', async () => {
    const c = new SegmentChannel(4);
    c.push(seg('a', false));
    c.push(seg('a b', false));
    c.push(seg('a b.', true));
    c.push(seg('c', false));
    c.close(new Error('boom'));
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const s of c.drain()) got.push(`${s.isFinal ? 'F' : 'P'}:${s.text}`);
      })(),
    ).rejects.toThrow('boom');
    expect(got).toEqual(['P:a b', 'F:a b.', 'P:c']);
  });

  it('makes the writer wait while the consumer is behind', async () => {
    const c = new SegmentChannel(2);
    c.push(seg('one.', true));
    c.push(seg('two.', true));
    let roomy = false;
    const room = c.room().then(() => (roomy = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(roomy).toBe(false);
    const it = c.drain();
    await it.next();
    await it.next(); // the consumer moved past the first item: room again
    await room;
    expect(roomy).toBe(true);
  });
});
