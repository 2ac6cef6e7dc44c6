// A provider with the flaws the kit must catch, each switched on by config: the DTMF template with one thing wrong.
import {
  type DecodeBatchItem,
  defineProvider,
  PLUGIN_API_VERSION,
  type PluginContext,
  type ProviderCapabilities,
  type Segment,
  type TranscribeOptions,
} from '@echopanel/plugin-api';
import { z } from 'zod';
import { DtmfProvider } from '../../../template/src/provider.js';

export const FLAWS = ['reversed-finals', 'revised-finals', 'ignores-abort', 'text-on-silence', 'uncoded-errors', 'survives-unload', 'unavailable-without-hint', 'batch-reordered'] as const;
export type Flaw = (typeof FLAWS)[number];

const ENGINE_CONFIG = { minToneMs: 40, pauseSeconds: 0.4 };

class BrokenProvider extends DtmfProvider {
  override readonly name = 'broken';

  constructor(
    private readonly flaw: Flaw | undefined,
    private readonly context: PluginContext,
  ) {
    super(ENGINE_CONFIG, context);
    // The template's capabilities, and batches (decodeBatch below).
    const capabilities: ProviderCapabilities = { ...this.capabilities, maxBatchSize: 4 };
    Object.defineProperty(this, 'capabilities', { value: capabilities, enumerable: true });
  }

  override async availability() {
    if (this.flaw === 'unavailable-without-hint') return { available: false, reason: 'no license key' };
    return super.availability();
  }

  async decodeBatch(items: readonly DecodeBatchItem[]): Promise<Segment[][]> {
    const results = await Promise.all(items.map((item) => this.decode(item.pcm, item.opts)));
    // Results in the wrong order, each still at its own item's offset: the words belong to other utterances.
    if (this.flaw === 'batch-reordered') {
      return results.reverse().map((segments, i) => segments.map((s) => ({ ...s, start: items[i].opts.offsetSeconds ?? 0, end: items[i].opts.offsetSeconds ?? 0 })));
    }
    return results;
  }

  override async *transcribe(audio: AsyncIterable<Int16Array>, opts: TranscribeOptions): AsyncIterable<Segment> {
    if (opts.sampleRate !== 16000 && this.flaw === 'uncoded-errors') throw new Error('bad rate');
    let samples = 0;
    const counted = (async function* () {
      for await (const frame of audio) yield ((samples += frame.length), frame);
    })();
    const inner =
      this.flaw === 'survives-unload'
        ? new DtmfProvider(ENGINE_CONFIG, this.context).transcribe(counted, opts) // an engine unload() never reaches
        : super.transcribe(counted, this.flaw === 'ignores-abort' ? { ...opts, signal: undefined } : opts);
    let held: Segment | undefined;
    let revised = false;
    let heard = false;
    for await (const s of inner) {
      heard = true;
      if (this.flaw === 'reversed-finals' && !revised) {
        // The first two finals swap their times: the text reads in order, the times do not.
        if (!held) {
          held = s;
          continue;
        }
        yield { ...held, start: s.start, end: s.end };
        yield { ...s, start: held.start, end: held.end };
        held = undefined;
        revised = true;
        continue;
      }
      if (this.flaw === 'revised-finals' && held && !revised) {
        // Once per stream, the final before goes out again, corrected.
        yield { ...held, text: held.text.split(' ')[0], start: held.start + 0.01 };
        revised = true;
      }
      held = s;
      yield s;
    }
    if (this.flaw === 'reversed-finals' && held && !revised) yield held;
    // What a hallucinating engine does with a quiet stream.
    if (this.flaw === 'text-on-silence' && !heard && samples > 0) yield { text: 'thank you', start: 0, end: 1, isFinal: true };
  }
}

/** The broken plugin: `flaw` in its config picks what it gets wrong. */
export default defineProvider({
  name: 'broken',
  apiVersion: PLUGIN_API_VERSION,
  configSchema: z.object({ flaw: z.enum(FLAWS).optional() }),
  create: (config, ctx) => new BrokenProvider(config.flaw, ctx),
});
