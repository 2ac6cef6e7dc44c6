import type { Segment } from '@echopanel/plugin-api';
import { SPEECH_SENTENCES, synthesizeSpeech } from '@echopanel/plugin-testkit';
import { makeProvider } from './__fixtures__/test-context.js';

const VOICES = ['en-us', 'en-gb', 'en-us+f3', 'en-us+m3'] as const;
/** 8 utterances, 4 voices × 4 sentences taken two at a time. */
const speech = VOICES.flatMap((voice, i) => [SPEECH_SENTENCES[i], SPEECH_SENTENCES[(i + 1) % 4]].map((t) => synthesizeSpeech(t, { voice, padSeconds: 0.3 })));
const text = (segments: readonly Segment[]) => segments.map((s) => s.text).join(' ');

describe('parallelDecodes (real faster-whisper worker, tiny.en, beam 5)', () => {
  const serial = makeProvider({ computeType: 'int8', parallelDecodes: 1 });
  const parallel = makeProvider({ computeType: 'int8', parallelDecodes: 2 });
  afterAll(() => Promise.all([serial.unload(), parallel.unload()]));

  it('decodes two requests at once in one worker, each with the words it gets alone', async () => {
    expect(parallel.capabilities.parallelDecodes).toBe(2);
    expect(serial.capabilities.parallelDecodes).toBe(1);
    const alone: string[] = [];
    for (const s of speech) alone.push(text(await serial.decode(s.samples, { sampleRate: 16000 })));
    // All at once: the worker runs two at a time (each request its own encoder window, one replica each).
    const together = await Promise.all(speech.map((s) => parallel.decode(s.samples, { sampleRate: 16000 })));
    expect(together.map(text)).toEqual(alone);
    expect(parallel.health().extra).toMatchObject({ parallelDecodes: 2 });
  }, 180000);
});
