import { EchoPanelError, type RuntimeTuning } from '@echopanel/plugin-api';
import type { DegradeLevelChange } from '../health/provider-health.js';
import { CountingProvider } from '../lifecycle/counting-provider.fixture.js';
import type { DegradeActions } from './degrade-actions.js';
import { createProviderDegradeActions } from './degrade-actions.js';
import { DegradeLadder } from './degrade-ladder.js';
import { DropPolicy } from './drop-policy.js';
import { FakeClock } from './fake-clock.fixture.js';

/** Host actions that record what the ladder asked for. */
function recordingActions(overrides: Partial<DegradeActions> = {}) {
  const log: string[] = [];
  let healthy = false;
  const actions: DegradeActions = {
    setChunkSeconds: (s) => {
      log.push(`chunk ${s}`);
      return s;
    },
    tune: (t: RuntimeTuning) => {
      log.push(`tune ${JSON.stringify(t)}`);
      return t;
    },
    setVadEnabled: (b) => {
      log.push(`vad ${b}`);
    },
    setDropPolicy: (on) => {
      log.push(`drop ${on}`);
    },
    failover: (reason) => {
      log.push(`failover (${reason})`);
      return true;
    },
    probePrimary: () => {
      log.push(`probe ${healthy}`);
      return healthy;
    },
    recoverPrimary: () => {
      log.push('recover-primary');
      return true;
    },
    ...overrides,
  };
  return { log, actions, setHealthy: (h: boolean) => (healthy = h) };
}

const baseline = { chunkSeconds: 2, beamSize: 5, model: 'base.en', vadEnabled: true };

function ladderWith(actions: DegradeActions, clock: FakeClock, settings = {}) {
  const ladder = new DegradeLadder({ actions, baseline, clock, settings });
  const changes: string[] = [];
  ladder.on('level', (c: DegradeLevelChange) => changes.push(`${c.from}>${c.to}`));
  return { ladder, changes };
}

describe('DegradeLadder', () => {
  it('walks every level on a scripted RTF sequence, honouring min-time, failover probing and recovery windows', async () => {
    const clock = new FakeClock();
    const { log, actions, setHealthy } = recordingActions();
    const { ladder, changes } = ladderWith(actions, clock);
    const at = async (s: number, rtf: number) => {
      clock.at(s);
      await ladder.observe(rtf);
      return ladder.level;
    };
    expect(await at(0, 0.5)).toBe('NORMAL');
    expect(await at(1, 0.85)).toBe('WARNING');
    expect(log).toEqual(['chunk 3']);
    expect(await at(5, 1.05)).toBe('WARNING'); // only 4 s at WARNING (min 10 s)
    expect(await at(11, 1.05)).toBe('DEGRADE');
    expect(log.slice(1)).toEqual(['tune {"beamSize":1,"model":"tiny.en"}', 'vad false']);
    expect(await at(15, 1.3)).toBe('DEGRADE');
    expect(await at(21, 1.3)).toBe('EMERGENCY');
    expect(log.at(-1)).toBe('drop true');
    expect(await at(25, 1.3)).toBe('EMERGENCY'); // failover needs min-time at EMERGENCY too
    expect(await at(31, 1.3)).toBe('FAILOVER');
    expect(log.at(-1)).toMatch(/^failover \(RTF 1.30 still at or above 1.2 after 10 s at EMERGENCY\)$/);

    // At FAILOVER, RTF does not move the level; the primary is probed once per recovery window.
    expect(await at(40, 0.1)).toBe('FAILOVER');
    clock.at(50);
    await ladder.tick();
    expect(log.filter((l) => l.startsWith('probe'))).toEqual([]);
    clock.at(61);
    await ladder.tick();
    expect(ladder.level).toBe('FAILOVER');
    expect(log.at(-1)).toBe('probe false');
    setHealthy(true);
    clock.at(80);
    await ladder.tick(); // 19 s since the last probe
    expect(log.at(-1)).toBe('probe false');
    clock.at(91);
    await ladder.tick();
    expect(ladder.level).toBe('EMERGENCY');
    expect(log.slice(-2)).toEqual(['probe true', 'recover-primary']);

    // Recovery: one level per full window below 0.7.
    expect(await at(92, 0.5)).toBe('EMERGENCY');
    expect(await at(110, 0.5)).toBe('EMERGENCY');
    expect(await at(122, 0.5)).toBe('DEGRADE');
    expect(log.at(-1)).toBe('drop false');
    expect(await at(130, 0.75)).toBe('DEGRADE'); // above recovery (but below warning): the window restarts
    expect(await at(140, 0.5)).toBe('DEGRADE');
    expect(await at(169, 0.5)).toBe('DEGRADE');
    expect(await at(170, 0.5)).toBe('WARNING');
    expect(log.slice(-2)).toEqual(['vad true', 'tune {"beamSize":5,"model":"base.en"}']);
    expect(await at(199, 0.5)).toBe('WARNING');
    expect(await at(200, 0.5)).toBe('NORMAL');
    expect(log.at(-1)).toBe('chunk 2');
    expect(changes).toEqual([
      'NORMAL>WARNING',
      'WARNING>DEGRADE',
      'DEGRADE>EMERGENCY',
      'EMERGENCY>FAILOVER',
      'FAILOVER>EMERGENCY',
      'EMERGENCY>DEGRADE',
      'DEGRADE>WARNING',
      'WARNING>NORMAL',
    ]);
    const h = ladder.health();
    expect(h.level).toBe('NORMAL');
    expect(h.activeActions).toEqual([]);
    expect(h.history.map((c) => c.at)).toEqual([1, 11, 21, 31, 91, 122, 170, 200].map((s) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString()));
  });

  it('a jump applies every intermediate action in order and recovery reverts them last-in first-out', async () => {
    const clock = new FakeClock();
    const { log, actions } = recordingActions();
    const { ladder, changes } = ladderWith(actions, clock);
    clock.at(0);
    const change = await ladder.observe(1.5);
    expect(change?.to).toBe('EMERGENCY');
    expect(change?.actions.map((a) => a.name)).toEqual(['bigger-chunks', 'reduce-quality', 'vad-off', 'drop-chunks']);
    expect(log).toEqual(['chunk 3', 'tune {"beamSize":1,"model":"tiny.en"}', 'vad false', 'drop true']);
    expect(ladder.health().activeActions).toEqual(['bigger-chunks', 'reduce-quality', 'vad-off', 'drop-chunks']);
    log.length = 0;
    for (const s of [1, 31, 61, 91]) {
      clock.at(s);
      await ladder.observe(0.2);
    }
    expect(changes).toEqual(['NORMAL>EMERGENCY', 'EMERGENCY>DEGRADE', 'DEGRADE>WARNING', 'WARNING>NORMAL']);
    expect(log).toEqual(['drop false', 'vad true', 'tune {"beamSize":5,"model":"base.en"}', 'chunk 2']);
  });

  it('caps chunk growth at 8 s', async () => {
    const clock = new FakeClock();
    const { log, actions } = recordingActions();
    const ladder = new DegradeLadder({ actions, baseline: { chunkSeconds: 7.5 }, clock });
    await ladder.observe(0.9);
    expect(log).toEqual(['chunk 8']);
    expect(ladder.currentChunkSeconds).toBe(8);
  });

  it('leaves a knob alone when nothing says what is in force (its revert could not put it back)', async () => {
    const clock = new FakeClock();
    const { log, actions } = recordingActions();
    const ladder = new DegradeLadder({ actions, baseline: {}, clock });
    const change = await ladder.observe(1.05);
    expect(ladder.level).toBe('DEGRADE');
    expect(log).toEqual(['vad false']);
    expect(change?.actions.slice(0, 2)).toEqual([
      { name: 'bigger-chunks', ok: false, detail: 'the chunk length in force is unknown' },
      { name: 'reduce-quality', ok: false, detail: 'beam size already 1 or unknown, no smaller model' },
    ]);
  });

  it('takes the settings in force from currentTuning over the baseline, and restores them', async () => {
    const clock = new FakeClock();
    const { log, actions } = recordingActions({ currentTuning: () => ({ chunkSeconds: 4, beamSize: 2, model: 'small.en' }) });
    const ladder = new DegradeLadder({ actions, baseline, clock, settings: { minLevelSeconds: 0, recoveryWindowSeconds: 1 } });
    await ladder.observe(1.05);
    expect(log).toEqual(['chunk 5', 'tune {"beamSize":1,"model":"base.en"}', 'vad false']);
    for (const s of [1, 3, 5]) {
      clock.at(s);
      await ladder.observe(0.1);
    }
    expect(ladder.level).toBe('NORMAL');
    expect(log.slice(3)).toEqual(['vad true', 'tune {"beamSize":2,"model":"small.en"}', 'chunk 4']);
  });

  it('a failing action is logged and recorded, and the level still changes', async () => {
    const clock = new FakeClock();
    const { actions } = recordingActions({
      setChunkSeconds: () => {
        throw new EchoPanelError('NOT_SUPPORTED', 'this engine has a fixed chunk length');
      },
    });
    const { ladder } = ladderWith(actions, clock);
    const change = await ladder.observe(0.9);
    expect(ladder.level).toBe('WARNING');
    expect(change?.actions).toEqual([{ name: 'bigger-chunks', ok: false, detail: 'this engine has a fixed chunk length' }]);
  });

  it('missing host actions are reported as not supported', async () => {
    const clock = new FakeClock();
    const ladder = new DegradeLadder({ baseline, clock });
    const change = await ladder.observe(1.1);
    expect(ladder.level).toBe('DEGRADE');
    expect(change?.actions.every((a) => !a.ok && a.detail === 'not supported by the host')).toBe(true);
  });

  it('stays at EMERGENCY when there is no usable fallback', async () => {
    const clock = new FakeClock();
    const { actions } = recordingActions({ failover: () => false });
    const { ladder, changes } = ladderWith(actions, clock);
    await ladder.observe(1.5);
    clock.at(20);
    await ladder.observe(1.5);
    expect(ladder.level).toBe('EMERGENCY');
    expect(changes).toEqual(['NORMAL>EMERGENCY']);
  });

  it('fails over after N consecutive provider errors; a success in between resets the count', async () => {
    const clock = new FakeClock();
    const { log, actions } = recordingActions();
    const { ladder } = ladderWith(actions, clock, { errorsBeforeFailover: 3 });
    await ladder.reportProviderError(new Error('a'));
    await ladder.reportProviderError(new Error('b'));
    ladder.reportProviderSuccess();
    await ladder.reportProviderError(new Error('c'));
    await ladder.reportProviderError(new Error('d'));
    expect(ladder.level).toBe('NORMAL');
    const change = await ladder.reportProviderError(new Error('worker exited'));
    expect(ladder.level).toBe('FAILOVER');
    expect(change?.reason).toBe('3 consecutive provider errors (last: worker exited)');
    expect(log).toEqual(['failover (3 consecutive provider errors (last: worker exited))']);
  });

  it('does nothing when disabled', async () => {
    const clock = new FakeClock();
    const { log, actions } = recordingActions();
    const { ladder } = ladderWith(actions, clock, { enabled: false });
    await ladder.observe(3);
    await ladder.reportProviderError(new Error('x'));
    await ladder.reportProviderError(new Error('x'));
    await ladder.reportProviderError(new Error('x'));
    expect(ladder.level).toBe('NORMAL');
    expect(log).toEqual([]);
  });

  it('tick() reads the RTF source and ignores "no data"', async () => {
    const clock = new FakeClock();
    const { actions } = recordingActions();
    let rtf: number | undefined = undefined; // no data until the test sets it
    const ladder = new DegradeLadder({ actions, baseline, clock, rtfSource: () => rtf });
    await ladder.tick();
    expect(ladder.level).toBe('NORMAL');
    rtf = 1.0;
    await ladder.tick();
    expect(ladder.level).toBe('DEGRADE');
    expect(ladder.health().rtf).toBe(1.0);
  });

  it('default actions tune a real provider through the contract', async () => {
    const clock = new FakeClock();
    const provider = new CountingProvider({ chunkSeconds: 2 });
    const drop = new DropPolicy();
    const ladder = new DegradeLadder({
      actions: createProviderDegradeActions({ provider, dropPolicy: drop }),
      baseline,
      clock,
      droppedSamples: () => drop.droppedSamples,
    });
    await ladder.observe(1.25);
    expect(provider.chunkSeconds).toBe(3);
    expect(provider.tunings).toEqual([{ chunkSeconds: 3 }, { beamSize: 1, model: 'tiny.en' }]);
    expect(drop.enabled).toBe(true);
    for (const s of [30, 60, 90, 120]) {
      clock.at(s);
      await ladder.observe(0.1);
    }
    expect(ladder.level).toBe('NORMAL');
    expect(drop.enabled).toBe(false);
    expect(provider.chunkSeconds).toBe(2);
    expect(provider.tunings.at(-2)).toEqual({ beamSize: 5, model: 'base.en' });
  });
});
