// ModelManager.lease (a stream keeps its model across a switch) and offload (unload; the next call loads again).
import { CountingProvider } from './counting-provider.fixture.js';
import { ModelManager } from './model-manager.js';

const tick = () => new Promise((r) => setImmediate(r));
const pcm = () => new Int16Array(1600).fill(500);

describe('ModelManager.lease', () => {
  it("keeps calling the model it was taken on after a switch; that model unloads when the last lease ends", async () => {
    const oldP = new CountingProvider({ name: 'old' });
    const newP = new CountingProvider({ name: 'new' });
    const m = new ModelManager({ provider: oldP });
    await m.initialize();
    const lease = m.lease();
    expect(m.inFlight).toBe(1);
    await m.switchModel(newP);
    expect((await lease.provider.decode!(pcm(), { sampleRate: 16000 }))[0].text).toBe('old heard 1600 samples');
    expect((await m.decode(pcm(), { sampleRate: 16000 }))[0].text).toBe('new heard 1600 samples');
    for (let i = 0; i < 5; i++) await tick();
    expect(oldP.loaded).toBe(true);
    lease.release();
    lease.release();
    for (let i = 0; i < 10 && oldP.loaded; i++) await tick();
    expect(oldP.loaded).toBe(false);
    expect(m.inFlight).toBe(0);
    await m.unload();
  });

  it('is refused with NOT_READY before the model is loaded', () => {
    const m = new ModelManager({ provider: new CountingProvider() });
    expect(() => m.lease()).toThrow(expect.objectContaining({ code: 'NOT_READY' }));
  });
});

describe('ModelManager.offload', () => {
  it('unloads; the next calls (a decode, a lease) share one load and are served', async () => {
    const p = new CountingProvider();
    const m = new ModelManager({ provider: p });
    await m.initialize();
    await m.offload();
    expect(m.state).toBe('UNINITIALIZED');
    expect(m.parked).toBe(true);
    expect(p.loaded).toBe(false);
    const lease = m.lease();
    const [a, b] = await Promise.all([m.decode(pcm(), { sampleRate: 16000 }), lease.provider.decode!(pcm(), { sampleRate: 16000 })]);
    lease.release();
    expect(a[0].text).toBe('counting heard 1600 samples');
    expect(b[0].text).toBe('counting heard 1600 samples');
    expect(p.loads).toBe(2);
    expect(m.state).toBe('READY');
    expect(m.parked).toBe(false);
    await m.unload();
  });

  it('idleMs is 0 while a lease is held and counts from its release', async () => {
    let now = 1000;
    const clock = { now: () => now, date: () => new Date(now) };
    const m = new ModelManager({ provider: new CountingProvider(), clock });
    await m.initialize();
    const lease = m.lease();
    now += 5000;
    expect(m.idleMs()).toBe(0);
    lease.release();
    now += 3000;
    expect(m.idleMs()).toBe(3000);
    await m.unload();
  });
});
