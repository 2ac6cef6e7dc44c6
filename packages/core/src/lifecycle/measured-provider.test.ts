import { type ASRProvider, pcmFrames, type Segment, type TranscribeOptions, type TranscriptionEvent } from '@echopanel/plugin-api';
import { recordingLogger } from '@echopanel/plugin-testkit';
import { measureProvider, MeasuredProvider } from './measured-provider.js';

/** A third-party-style provider: one final per frame, no health, no events; its "engine" advances a fake clock. */
function minimal(clock: { t: number }, options: { slowFactor?: number; failAfterFrames?: number; hints?: boolean } = {}): ASRProvider {
  return {
    name: 'minimal',
    capabilities: { streaming: true, partialResults: false, wordTimestamps: false, languages: ['en'], devices: ['cpu'] },
    availability: async () => ({ available: true }),
    load: async () => undefined,
    unload: async () => undefined,
    async *transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncGenerator<Segment> {
      let offset = 0;
      let frames = 0;
      for await (const frame of audio) {
        if (options.failAfterFrames !== undefined && frames++ >= options.failAfterFrames) throw new Error('engine gone');
        const start = offset / opts.sampleRate;
        offset += frame.length;
        clock.t += (frame.length / opts.sampleRate) * 1000 * (options.slowFactor ?? 0.1);
        // A silent frame reported skipped (a hint), and no segment for it.
        if (options.hints && frame.every((s) => s === 0)) {
          opts.onEvent?.({ type: 'skipped', samples: frame.length, reason: 'silence', start, end: offset / opts.sampleRate });
          continue;
        }
        yield { text: `${frame.length}`, start, end: offset / opts.sampleRate, isFinal: true };
      }
    },
  };
}

async function run(p: ASRProvider, pcm: Int16Array, frame = 1600) {
  const events: TranscriptionEvent[] = [];
  const segments: Segment[] = [];
  let error: unknown;
  try {
    for await (const s of p.transcribe(pcmFrames(pcm, frame), { sampleRate: 16000, onEvent: (e) => events.push(e) })) segments.push(s);
  } catch (err) {
    error = err;
  }
  const sum = (type: string) => events.filter((e) => e.type === type).reduce((n, e) => n + ('samples' in e ? e.samples : 0), 0);
  return { segments, events, error, transcribed: sum('transcribed'), skipped: sum('skipped'), dropped: sum('dropped') };
}

describe('MeasuredProvider', () => {
  it('measures a provider that only transcribes: RTF from its busy time, latency per final, exact accounting', async () => {
    const clock = { t: 0 };
    const m = measureProvider(minimal(clock, { slowFactor: 3 }), { now: () => clock.t });
    await m.load();
    const r = await run(m, new Int16Array(48000).fill(100));
    expect(r.segments).toHaveLength(30);
    expect(r.transcribed).toBe(48000);
    expect(r.skipped + r.dropped).toBe(0);
    const h = m.health();
    expect(h).toMatchObject({ provider: 'minimal', state: 'READY', modelResident: true, inferences: 30, backlog: 0, backlogSeconds: 0, consecutiveErrors: 0 });
    expect(h.rtf).toBeCloseTo(3, 6);
    // Each final came 300 ms (of engine time) after its frame was handed over.
    expect(h.p50InferMs).toBeCloseTo(300, 6);
    expect(h.sessions).toEqual({ active: 0, total: 1, receivedSamples: 48000, transcribedSamples: 48000, skippedSamples: 0, droppedSamples: 0 });
    expect(measureProvider(m)).toBe(m);
  });

  it('takes skipped hints as given and settles the rest as transcribed', async () => {
    const clock = { t: 0 };
    const m = new MeasuredProvider(minimal(clock, { hints: true }), { now: () => clock.t });
    const pcm = new Int16Array(32000);
    pcm.fill(100, 0, 16000);
    const r = await run(m, pcm);
    expect({ transcribed: r.transcribed, skipped: r.skipped, dropped: r.dropped }).toEqual({ transcribed: 16000, skipped: 16000, dropped: 0 });
  });

  it('a provider that throws: what it settled is forwarded, the rest is left to the caller and counted dropped in its own stats', async () => {
    const clock = { t: 0 };
    const m = new MeasuredProvider(minimal(clock, { failAfterFrames: 5 }), { now: () => clock.t });
    const r = await run(m, new Int16Array(16000 * 2).fill(100));
    expect((r.error as Error).message).toBe('engine gone');
    // Five finals settled five frames; the sixth frame was handed over but never settled.
    expect(r.transcribed).toBe(5 * 1600);
    expect(r.dropped).toBe(0);
    const h = m.health();
    expect(h.consecutiveErrors).toBe(1);
    expect(h.lastError).toMatchObject({ code: 'INFERENCE_FAILED', message: 'engine gone' });
    expect(h.sessions).toMatchObject({ receivedSamples: 6 * 1600, transcribedSamples: 5 * 1600, droppedSamples: 1600 });
  });

  it('validates health(): a throwing or garbage report is logged once with the problem and ignored', () => {
    const logger = recordingLogger();
    const clock = { t: 0 };
    const garbage = { ...minimal(clock), health: () => ({ state: 'FINE', workerPid: -1, uptime: 3 }) } as unknown as ASRProvider;
    const m = new MeasuredProvider(garbage, { logger });
    for (let i = 0; i < 5; i++) expect(m.health()).toMatchObject({ provider: 'minimal', state: 'UNINITIALIZED', restarts: 0 });
    const warnings = logger.lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toMatch(/^provider minimal: health\(\) /);
    for (const issue of [/health\(\)\.state: /, /health\(\)\.workerPid: /, /health\(\)\.uptime: unknown key/]) expect(warnings[0].msg).toMatch(issue);

    const throwing = new MeasuredProvider({ ...minimal(clock), health: () => { throw new Error('not yet'); } }, { logger });
    throwing.health();
    throwing.health();
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg).at(-1)).toMatch(/^provider minimal: health\(\) threw: not yet; its report is ignored/);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(2);

    const good = new MeasuredProvider({ ...minimal(clock), health: () => ({ workerPid: 4242, restarts: 2, memory: { workerRssBytes: 1000 }, extra: { note: 'x' } }) }, { logger });
    expect(good.health()).toMatchObject({ workerPid: 4242, restarts: 2, memory: { workerRssBytes: 1000 }, extra: { note: 'x' } });
  });
});
