import { pcmFrames, type Segment } from '@echopanel/plugin-api';
import { decodeUtterance, decodeUtterances, transcribeInChunks, type DecodeRequest } from './chunked-transcriber.js';
import type { RawSegment } from './hallucination-guard.js';

// Whisper decodes a 30 s padded window, so an engine may put the end of a chunk's last segment past the chunk.
const overrunning = async (req: DecodeRequest): Promise<RawSegment[]> => {
  const seconds = req.pcm.length / req.sampleRate;
  return [
    {
      text: 'hello there',
      start: 0.5,
      end: seconds + 0.4,
      avgLogprob: -0.1,
      words: [
        { word: 'hello', start: 0.5, end: 1 },
        { word: 'there', start: 1, end: seconds + 0.4 },
      ],
    },
  ];
};

describe('segment times are clamped to the decoded audio', () => {
  it('in chunked streams, so a chunk never overlaps the next one', async () => {
    const pcm = new Int16Array(16000 * 5).fill(3000);
    const segments: Segment[] = [];
    for await (const s of transcribeInChunks(pcmFrames(pcm), { sampleRate: 16000 }, overrunning, { chunkSeconds: 2 })) segments.push(s);
    expect(segments.map((s) => [s.start, s.end])).toEqual([
      [0.5, 2],
      [2.5, 4],
      [4.5, 5],
    ]);
    expect(segments[0].words!.at(-1)!.end).toBe(2);
  });

  it('in one-shot decodes, after the offset', async () => {
    const segs = await decodeUtterance(new Int16Array(16000 * 3).fill(3000), { sampleRate: 16000, offsetSeconds: 10 }, overrunning);
    expect([segs[0].start, segs[0].end]).toEqual([10.5, 13]);
  });
});

describe('decodeUtterances (a batch engine call)', () => {
  const items = [3, 2].map((seconds, i) => ({ pcm: new Int16Array(16000 * seconds).fill(3000), opts: { sampleRate: 16000, offsetSeconds: 10 * i } }));

  it('maps each result as decodeUtterance maps it alone', async () => {
    const batched = await decodeUtterances(items, (reqs) => Promise.all(reqs.map(overrunning)));
    const alone = await Promise.all(items.map((item) => decodeUtterance(item.pcm, item.opts, overrunning)));
    expect(batched).toEqual(alone);
    expect(batched.map((segs) => [segs[0].start, segs[0].end])).toEqual([
      [0.5, 3],
      [10.5, 12],
    ]);
  });

  it('rejects an engine answer with a different number of results', async () => {
    await expect(decodeUtterances(items, async () => [[]])).rejects.toMatchObject({
      code: 'INFERENCE_FAILED',
      message: 'the engine returned 1 results for a batch of 2 utterances',
    });
  });
});
