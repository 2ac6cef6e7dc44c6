import { pcmFrames, type TranscriptionEvent } from '@echopanel/plugin-api';
import { CountingProvider } from '../lifecycle/counting-provider.fixture.js';
import { DropPolicy } from './drop-policy.js';

describe('DropPolicy', () => {
  it('drops every other window while enabled, reports every dropped sample and maps times back to the stream', async () => {
    const policy = new DropPolicy();
    policy.enabled = true;
    const events: TranscriptionEvent[] = [];
    const pcm = new Int16Array(10 * 16000).fill(700);
    const gate = policy.gate(pcmFrames(pcm, 1600), { sampleRate: 16000, windowSeconds: 1, onEvent: (e) => events.push(e) });
    let passed = 0;
    for await (const f of gate.audio) passed += f.length;
    const dropped = events.filter((e) => e.type === 'dropped');
    expect(dropped).toHaveLength(5);
    expect(dropped.map((e) => ('start' in e ? [e.start, e.end] : []))).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
      [9, 10],
    ]);
    expect(passed).toBe(80000);
    expect(gate.droppedSamples + passed).toBe(pcm.length);
    expect(policy.droppedSamples).toBe(80000);
    // Provider second 1.0 is stream second 2.0 (start) or 1.0 (end); 2.5 → 4.5.
    expect(gate.mapTime(1)).toBe(2);
    expect(gate.mapSegment({ text: 'x', start: 0.5, end: 1, isFinal: true })).toMatchObject({ start: 0.5, end: 1 });
    expect(gate.mapSegment({ text: 'x', start: 1, end: 2.5, isFinal: true })).toMatchObject({ start: 2, end: 4.5 });
  });

  it('passes everything while disabled, and a provider behind the gate keeps exact stream times and totals', async () => {
    const policy = new DropPolicy();
    const provider = new CountingProvider({ chunkSeconds: 1 });
    await provider.load();
    const pcm = new Int16Array(6 * 16000).fill(900);
    const events: TranscriptionEvent[] = [];
    async function* toggling() {
      for await (const f of pcmFrames(pcm, 4000)) {
        yield f;
      }
    }
    const gate = policy.gate(toggling(), { sampleRate: 16000, windowSeconds: 1, onEvent: (e) => events.push(e) });
    const segs = [];
    let n = 0;
    for await (const s of provider.transcribe(gate.audio, { sampleRate: 16000, onEvent: (e) => events.push(gate.mapEvent(e)) })) {
      segs.push(gate.mapSegment(s));
      // Turn dropping on after the first two chunks.
      if (++n === 2) policy.enabled = true;
    }
    const sum = (t: string) => events.filter((e) => e.type === t).reduce((a, e) => a + ('samples' in e ? e.samples : 0), 0);
    expect(sum('transcribed') + sum('dropped')).toBe(pcm.length);
    expect(sum('dropped')).toBeGreaterThan(0);
    // Every segment's stream time is a span the gate let through.
    const droppedSpans = events.filter((e) => e.type === 'dropped').map((e) => ('start' in e ? [e.start, e.end] : [0, 0]));
    for (const s of segs) for (const [a, b] of droppedSpans) expect(s.end <= a || s.start >= b).toBe(true);
    expect(segs[0]).toMatchObject({ start: 0, end: 1 });
  });
});
