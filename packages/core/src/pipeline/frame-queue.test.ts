import { FrameQueue } from './frame-queue.js';

const frame = (start: number, n: number) => ({ start, pcm: new Int16Array(n) });

describe('FrameQueue', () => {
  it('hands frames to a waiting consumer in order and ends after close', async () => {
    const q = new FrameQueue();
    const first = q.take();
    q.push(frame(0, 10));
    q.push(frame(10, 5));
    expect((await first)?.start).toBe(0);
    expect(q.queuedSamples).toBe(5);
    q.close();
    expect((await q.take())?.start).toBe(10);
    expect(await q.take()).toBeUndefined();
  });

  it('drops the oldest frames beyond a bound and reports them', () => {
    const q = new FrameQueue();
    for (let i = 0; i < 5; i++) q.push(frame(i * 100, 100));
    const dropped = q.dropOldest(250);
    expect(dropped.map((f) => f.start)).toEqual([0, 100, 200]);
    expect(q.queuedSamples).toBe(200);
    expect(q.drain().map((f) => f.start)).toEqual([300, 400]);
  });

  it('refuses frames after close', () => {
    const q = new FrameQueue();
    q.close();
    expect(() => q.push(frame(0, 1))).toThrow(/after close/);
  });
  it('dropping keeps markers (they carry no audio) in their place', () => {
    const q = new FrameQueue();
    q.push({ pcm: new Int16Array(100), start: 0 });
    q.push({ pcm: new Int16Array(0), start: 100, control: 'commit' });
    q.push({ pcm: new Int16Array(100), start: 100 });
    q.push({ pcm: new Int16Array(100), start: 200 });
    expect(q.dropOldest(100).map((f) => f.start)).toEqual([0, 100]);
    expect(q.drain().map((f) => f.start)).toEqual([200]);
    return expect(q.take()).resolves.toMatchObject({ control: 'commit', start: 100 });
  });
});
