import {
  PLUGIN_API_VERSION,
  PLUGIN_BRAND,
  type ASRProvider,
  type ProviderPlugin,
  type Segment,
} from '@echopanel/plugin-api';
import { silence } from '../speech.js';
import { RECOGNIZABLE_WER } from '../transcript-pool.js';
import { normalizeTranscript, wordErrorRate } from '../wer.js';
import { wholeCorpus } from './corpus.js';
import {
  CheckSkipped,
  collect,
  describeError,
  endlessSource,
  fail,
  finalText,
  framesOf,
  hasCode,
  SAMPLE_RATE,
  transcribeOk,
  within,
} from './streams.js';
import type { ConformanceCheckId, ConformanceOptions, ConformanceState, StreamRun, Utterance } from './types.js';

/** How far past the end of the audio a segment may end (engines round to their 10–20 ms frames). */
const END_SLACK_SECONDS = 0.1;
/** How far a later segment may reach back into a final's time (word boundaries of two decodes differ a little). */
const REVISION_SLACK_SECONDS = 0.3;
/** Audio a provider may still take after its abort signal fired (what was already on its way). */
const AFTER_ABORT_MAX_SECONDS = 5;

export interface CheckContext {
  readonly plugin: ProviderPlugin;
  readonly options: ConformanceOptions;
  readonly state: ConformanceState;
  readonly werBound: number;
  readonly promptMs: number;
  /** Makes a provider from a config slice through the plugin's own schema and `create`. */
  create(config: unknown): Promise<ASRProvider>;
}

export interface ConformanceCheck {
  readonly id: ConformanceCheckId;
  readonly title: string;
  /** `provider`: needs a created instance; `engine`: needs it available and loaded. */
  readonly needs?: 'provider' | 'engine';
  /** Returns what it measured. Throws CheckFailure / CheckSkipped (or anything else: a failure). */
  run(c: CheckContext): Promise<string>;
}

const seconds = (pcm: Int16Array) => pcm.length / SAMPLE_RATE;
/** A transcript in a report line, cut short: enough to see what the provider did. */
const quote = (text: string, max = 160) => JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

function recognizable(reference: string, hypothesis: string, what: string): number {
  const w = wordErrorRate(reference, hypothesis).wer;
  if (w >= RECOGNIZABLE_WER) fail(`${what}: WER ${pct(w)} (≥ ${pct(RECOGNIZABLE_WER)}: not recognizably the utterance): heard ${quote(hypothesis)} for ${JSON.stringify(reference)}`);
  return w;
}

/** Pooled WER of `hypothesis` against `reference` within `bound`, as a report line (fails with what was heard). */
function pooledWithin(reference: string, hypothesis: string, bound: number, prefix: string, suffix = ''): string {
  const w = wordErrorRate(reference, hypothesis);
  const detail = `${prefix}${pct(w.wer)} over ${w.referenceWords} words${suffix} (bound ${pct(bound)})`;
  if (w.wer > bound) fail(`${detail}; heard ${quote(hypothesis)}`);
  return detail;
}

function timesInside(segments: readonly Segment[], durationSeconds: number, what: string, offset = 0): void {
  let lastFinalStart = -Infinity;
  for (const [i, s] of segments.entries()) {
    const at = `${what}: segment ${i} (${JSON.stringify(s.text)}, ${s.start}–${s.end} s)`;
    if (!Number.isFinite(s.start) || !Number.isFinite(s.end)) fail(`${at} has a time that is not a finite number`);
    if (s.start < offset - 1e-6) fail(`${at} starts before the audio (${offset} s)`);
    if (s.end < s.start) fail(`${at} ends before it starts`);
    if (s.end > offset + durationSeconds + END_SLACK_SECONDS) fail(`${at} ends after the audio (${(offset + durationSeconds).toFixed(2)} s)`);
    if (s.isFinal) {
      if (s.start < lastFinalStart - 1e-6) fail(`${at} starts before the final before it (${lastFinalStart} s): finals are not in time order`);
      lastFinalStart = s.start;
    }
  }
}

function engine(c: CheckContext): ASRProvider {
  return c.state.provider!;
}

export const CHECKS: readonly ConformanceCheck[] = [
  {
    id: 'plugin-shape',
    title: 'the default export is a branded provider plugin for this API whose schema parses the config',
    async run({ plugin, options }) {
      const p = plugin as unknown as Record<string | symbol, unknown> | undefined;
      if (typeof p !== 'object' || p === null) fail(`the plugin is ${p === null ? 'null' : typeof p}, not an object made by defineProvider()`);
      if (p[PLUGIN_BRAND] !== 'provider' || p.kind !== 'provider') fail('the plugin was not made by defineProvider() from @echopanel/plugin-api (brand missing or not a provider)');
      if (p.apiVersion !== PLUGIN_API_VERSION) fail(`apiVersion is ${String(p.apiVersion)}; this plugin API is ${PLUGIN_API_VERSION}`);
      if (typeof p.name !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/.test(p.name)) fail(`name ${JSON.stringify(p.name)} is not a lower-case config key (a-z, 0-9, . _ -)`);
      if (typeof p.create !== 'function') fail('create is not a function');
      if (p.version !== undefined && (typeof p.version !== 'string' || !/^\d+\.\d+\.\d+/.test(p.version))) fail(`version ${JSON.stringify(p.version)} is not a semver string`);
      const schema = p.configSchema as { safeParse?: (v: unknown) => { success: boolean; error?: { message: string } } } | undefined;
      if (typeof schema?.safeParse !== 'function') fail('configSchema is not a zod schema (no safeParse)');
      const parsed = schema.safeParse(options.config ?? {});
      if (!parsed.success) fail(`configSchema rejects the config ${JSON.stringify(options.config ?? {})}: ${parsed.error?.message ?? 'invalid'}`);
      return `'${p.name}'${p.version ? ` ${String(p.version)}` : ''}, API ${PLUGIN_API_VERSION}`;
    },
  },
  {
    id: 'create',
    title: 'create() makes a provider with the contract’s methods and the plugin’s name',
    async run(c) {
      const provider = await c.create(c.options.config ?? {});
      for (const m of ['availability', 'load', 'unload', 'transcribe'] as const) {
        if (typeof provider?.[m] !== 'function') fail(`the provider has no ${m}() method`);
      }
      if (provider.name !== c.plugin.name) fail(`the provider is named ${JSON.stringify(provider.name)}, the plugin ${JSON.stringify(c.plugin.name)}`);
      const caps = provider.capabilities;
      if (typeof caps !== 'object' || caps === null || typeof caps.streaming !== 'boolean' || typeof caps.partialResults !== 'boolean') {
        fail('capabilities is missing or lacks streaming/partialResults booleans');
      }
      if (caps.decode && typeof provider.decode !== 'function') fail('capabilities.decode is set but there is no decode() method');
      if (caps.recording && typeof provider.decodeRecording !== 'function') fail('capabilities.recording is set but there is no decodeRecording() method');
      if (caps.maxBatchSize !== undefined && !(Number.isInteger(caps.maxBatchSize) && caps.maxBatchSize >= 1)) {
        fail(`capabilities.maxBatchSize is ${JSON.stringify(caps.maxBatchSize)}, not a whole number ≥ 1`);
      }
      if ((caps.maxBatchSize ?? 1) > 1 && typeof provider.decodeBatch !== 'function') fail('capabilities.maxBatchSize is above 1 but there is no decodeBatch() method');
      c.state.provider = provider;
      return `capabilities ${JSON.stringify(caps)}`;
    },
  },
  {
    id: 'availability',
    title: 'availability() answers, and the provider is available here (or says why and what to do)',
    needs: 'provider',
    async run(c) {
      const a = await engine(c).availability();
      if (typeof a?.available !== 'boolean') fail(`availability() returned ${JSON.stringify(a)}, not { available: boolean }`);
      c.state.availability = a;
      if (!a.available) {
        const missing = [!a.reason && 'reason', !a.hint && 'hint'].filter(Boolean);
        fail(
          `unavailable here: ${a.reason ?? '(no reason given)'}${a.hint ? ` — ${a.hint}` : ''}` +
            (missing.length ? `; an unavailable provider must give a ${missing.join(' and a ')}` : '; the other checks need an available provider'),
        );
      }
      return 'available';
    },
  },
  {
    id: 'unavailable-reasons',
    title: 'a provider that cannot run says why and what to do, and load() fails with a code',
    async run(c) {
      if (c.options.unavailableConfig === undefined) {
        throw new CheckSkipped('no options.unavailableConfig: the kit has no config that makes this provider unavailable');
      }
      const p = await c.create(c.options.unavailableConfig);
      const a = await p.availability();
      if (a.available) fail(`availability() says available for ${JSON.stringify(c.options.unavailableConfig)}`);
      if (!a.reason?.trim()) fail('availability() gives no reason');
      if (!a.hint?.trim()) fail(`availability() gives no hint (reason: ${a.reason})`);
      const err = await p.load().then(
        () => undefined,
        (e: unknown) => e ?? new Error('rejected with nothing'),
      );
      await p.unload().catch(() => undefined);
      if (err === undefined) fail('load() succeeded although availability() said unavailable');
      if (!hasCode(err)) fail(`load() failed with ${describeError(err)}`);
      return `reason: ${a.reason} — hint: ${a.hint}; load(): ${(err as { code: string }).code}`;
    },
  },
  {
    id: 'load-unload',
    title: 'load() and unload() are idempotent, and a provider loaded again transcribes',
    needs: 'engine',
    async run(c) {
      const p = engine(c);
      const first = probe(c);
      await p.unload();
      await Promise.all([p.load(), p.load()]);
      await p.load();
      const before = finalText(await transcribeOk(p, framesOf(first.samples), 'before unload'));
      const w1 = recognizable(first.text, before, 'before unload');
      await p.unload();
      await p.unload();
      await p.load();
      const after = finalText(await transcribeOk(p, framesOf(first.samples), 'after unload and load'));
      const w2 = recognizable(first.text, after, 'after unload and load');
      return `load ×3 (two concurrent), unload ×2, load: WER ${pct(w1)} before, ${pct(w2)} after`;
    },
  },
  {
    id: 'transcribes-speech',
    title: 'transcribes the corpus, streamed as one recording, within the pooled WER bound',
    needs: 'engine',
    async run(c) {
      const corpus = corpusOf(c);
      const whole = wholeCorpus(corpus);
      const segments = await transcribeOk(engine(c), framesOf(whole.samples), 'the corpus');
      const run: StreamRun = { label: 'the corpus', reference: whole.text, durationSeconds: seconds(whole.samples), segments, finalText: finalText(segments) };
      c.state.speechRuns.push(run);
      return pooledWithin(whole.text, run.finalText, c.werBound, 'pooled WER ', ` of ${corpus.name}`);
    },
  },
  {
    id: 'segment-times',
    title: 'segment times lie inside the audio, end after they start, and finals come in time order',
    needs: 'engine',
    async run(c) {
      const runs = speechRuns(c);
      for (const r of runs) timesInside(r.segments, r.durationSeconds, r.label);
      return `${runs.reduce((n, r) => n + r.segments.length, 0)} segments of the corpus stream`;
    },
  },
  {
    id: 'finals-not-revised',
    title: 'a final is never revised: no later segment covers its time again',
    needs: 'engine',
    async run(c) {
      const runs = speechRuns(c);
      let partials = 0;
      for (const r of runs) {
        let finalEnd = -Infinity;
        let finalAt: Segment | undefined;
        for (const s of r.segments) {
          if (!s.isFinal) partials++;
          if (finalAt && s.start < finalEnd - REVISION_SLACK_SECONDS) {
            fail(
              `${r.label}: ${s.isFinal ? 'final' : 'partial'} ${JSON.stringify(s.text)} (${s.start}–${s.end} s) goes back into the final ${JSON.stringify(finalAt.text)} (${finalAt.start}–${finalAt.end} s)`,
            );
          }
          if (s.isFinal && s.end >= finalEnd) {
            finalEnd = s.end;
            finalAt = s;
          }
        }
      }
      if (partials > 0 && !engine(c).capabilities.partialResults) fail(`capabilities.partialResults is false, but ${partials} partial segment(s) came`);
      return `${runs.reduce((n, r) => n + r.segments.filter((s) => s.isFinal).length, 0)} finals, ${partials} partials`;
    },
  },
  {
    id: 'frame-sizes',
    title: 'an empty stream, and frames of 0, 1 and odd numbers of samples, are accepted',
    needs: 'engine',
    async run(c) {
      const p = engine(c);
      const empty = await transcribeOk(p, framesOf(new Int16Array(0)), 'an empty stream');
      if (finalText(empty)) fail(`an empty stream gave text ${quote(finalText(empty))}`);
      const onlyEmpty = await transcribeOk(p, emptyFrames(5), 'empty frames');
      if (finalText(onlyEmpty)) fail(`empty frames gave text ${quote(finalText(onlyEmpty))}`);
      const u = probe(c);
      const odd = await transcribeOk(p, framesOf(u.samples, [1, 0, 3, 333, 2, 4097, 1]), 'odd frames');
      const w = recognizable(u.text, finalText(odd), 'odd frames');
      timesInside(odd, seconds(u.samples), 'odd frames');
      return `odd frames WER ${pct(w)}`;
    },
  },
  {
    id: 'silence',
    title: 'silence produces no text',
    needs: 'engine',
    async run(c) {
      const segments = await transcribeOk(engine(c), framesOf(silence(5)), '5 s of silence');
      const text = segments.map((s) => s.text.trim()).filter(Boolean);
      if (text.length > 0) fail(`5 s of silence gave ${text.length} segment(s) with text: ${quote(text.join(' | '))}`);
      return '5 s of zeros: no text';
    },
  },
  {
    id: 'concurrent-streams',
    title: 'two streams at once both complete with their own transcripts',
    needs: 'engine',
    async run(c) {
      const p = engine(c);
      const [a, b] = [probe(c), corpusOf(c).utterances[3]];
      const [ra, rb] = await Promise.all([transcribeOk(p, framesOf(a.samples, [800]), 'stream A'), transcribeOk(p, framesOf(b.samples, [700]), 'stream B')]);
      const wa = recognizable(a.text, finalText(ra), 'stream A');
      const wb = recognizable(b.text, finalText(rb), 'stream B');
      timesInside(ra, seconds(a.samples), 'stream A');
      timesInside(rb, seconds(b.samples), 'stream B');
      return `WER ${pct(wa)} and ${pct(wb)}`;
    },
  },
  {
    id: 'cancellation',
    title: 'an aborted signal ends the stream promptly and stops it reading audio',
    needs: 'engine',
    async run(c) {
      const p = engine(c);
      const ac = new AbortController();
      let abortedAt = 0;
      let pulledAtAbort = 0;
      const source = endlessSource(wholeCorpus(corpusOf(c)).samples, 300, (pulled) => {
        if (!abortedAt && pulled >= 1.5 * SAMPLE_RATE) {
          abortedAt = performance.now();
          pulledAtAbort = pulled;
          ac.abort();
        }
      });
      const running = collect(p, source.frames, { signal: ac.signal });
      const stopper = setInterval(() => {
        if (abortedAt && performance.now() - abortedAt > c.promptMs) source.stop();
      }, 50);
      const r = await running.finally(() => clearInterval(stopper));
      if (!abortedAt) fail(`the stream ended after ${source.pulled()} samples, before the kit aborted it`);
      const tookMs = r.endedAt - abortedAt;
      const extra = (source.pulled() - pulledAtAbort) / SAMPLE_RATE;
      if (tookMs > c.promptMs) fail(`the stream ran on for ${Math.round(tookMs)} ms after the abort (limit ${c.promptMs} ms)`);
      if (extra > AFTER_ABORT_MAX_SECONDS) fail(`the provider read ${extra.toFixed(1)} s more audio after the abort`);
      if (r.error !== undefined && !hasCode(r.error)) fail(`the aborted stream threw ${describeError(r.error)}`);
      return `ended ${Math.round(tookMs)} ms after the abort${r.error ? ` with ${(r.error as { code: string }).code}` : ''}, ${extra.toFixed(2)} s read after it`;
    },
  },
  {
    id: 'error-codes',
    title: 'errors carry a code: audio at another rate is UNSUPPORTED_SAMPLE_RATE (or accepted); a source error is passed on',
    needs: 'engine',
    async run(c) {
      const p = engine(c);
      const notes: string[] = [];
      const rejected = (what: string, err: unknown) => {
        if (err === undefined) return notes.push(`${what} accepted`);
        if (!hasCode(err)) fail(`${what} threw ${describeError(err)}`);
        if ((err as { code: string }).code !== 'UNSUPPORTED_SAMPLE_RATE') fail(`${what} threw ${describeError(err)}; the contract's code for this is UNSUPPORTED_SAMPLE_RATE`);
        return notes.push(`${what}: UNSUPPORTED_SAMPLE_RATE`);
      };
      rejected('transcribe at 44.1 kHz', (await collect(p, framesOf(new Int16Array(44100)), { sampleRate: 44100 })).error);
      if (p.capabilities.decode && p.decode) {
        rejected(
          'decode at 8 kHz',
          await p.decode(new Int16Array(8000), { sampleRate: 8000 }).then(
            () => undefined,
            (e: unknown) => e ?? new Error('rejected with nothing'),
          ),
        );
      }
      const source = (async function* () {
        yield new Int16Array(1600);
        throw new Error('audio source failed (thrown by the kit)');
      })();
      const failing = await collect(p, source);
      if (failing.error === undefined) fail('a stream whose audio source threw ended without an error: the failure was lost');
      return notes.join('; ') + '; an audio source error is passed on';
    },
  },
  {
    id: 'decode',
    title: 'decode() (when capabilities.decode) transcribes an utterance with its offset',
    needs: 'engine',
    async run(c) {
      const p = engine(c);
      if (!p.capabilities.decode) throw new CheckSkipped('capabilities.decode is not set');
      const u = corpusOf(c).utterances[1];
      const segments = await p.decode!(u.samples, { sampleRate: SAMPLE_RATE, offsetSeconds: 100 });
      const w = recognizable(u.text, finalText(segments), 'decode');
      timesInside(segments, seconds(u.samples), 'decode (offset 100 s)', 100);
      const none = await p.decode!(new Int16Array(0), { sampleRate: SAMPLE_RATE });
      if (finalText(none)) fail(`decode of no samples gave ${quote(finalText(none))}`);
      return `WER ${pct(w)}, times offset by 100 s`;
    },
  },
  {
    id: 'decode-batch',
    title: 'decodeBatch() (when capabilities.maxBatchSize > 1) gives each utterance, in order, the words decode() gives it alone',
    needs: 'engine',
    async run(c) {
      const p = engine(c);
      const max = p.capabilities.maxBatchSize ?? 1;
      if (max <= 1) throw new CheckSkipped('capabilities.maxBatchSize is not above 1');
      const utterances = corpusOf(c).utterances.slice(0, max);
      const items = utterances.map((u, i) => ({ pcm: u.samples, opts: { sampleRate: SAMPLE_RATE, offsetSeconds: 100 * i } }));
      const batched = await p.decodeBatch!(items);
      if (!Array.isArray(batched) || batched.length !== items.length) {
        fail(`decodeBatch of ${items.length} utterances resolved with ${Array.isArray(batched) ? batched.length : typeof batched} results`);
      }
      batched.forEach((segments, i) => timesInside(segments, seconds(items[i].pcm), `decodeBatch item ${i} (offset ${100 * i} s)`, 100 * i));
      const words = (segments: readonly Segment[]) => normalizeTranscript(finalText(segments)).join(' ');
      if (p.capabilities.decode && p.decode) {
        for (const [i, item] of items.entries()) {
          const alone = await p.decode(item.pcm, item.opts);
          if (words(alone) !== words(batched[i])) fail(`item ${i}: decodeBatch heard ${quote(finalText(batched[i]))} where decode alone heard ${quote(finalText(alone))}`);
        }
      }
      const same = p.capabilities.decode ? ', the words decode() gives each alone' : '';
      return pooledWithin(utterances.map((u) => u.text).join(' '), batched.map(finalText).join(' '), c.werBound, `${items.length} utterances in one call${same}; WER `);
    },
  },
  {
    id: 'decode-recording',
    title: 'decodeRecording() (when capabilities.recording) transcribes the whole corpus within the bound',
    needs: 'engine',
    async run(c) {
      const p = engine(c);
      if (!p.capabilities.recording) throw new CheckSkipped('capabilities.recording is not set');
      const whole = wholeCorpus(corpusOf(c));
      const segments = await p.decodeRecording!(whole.samples, { sampleRate: SAMPLE_RATE });
      timesInside(segments, seconds(whole.samples), 'decodeRecording');
      return pooledWithin(whole.text, finalText(segments), c.werBound, 'WER ');
    },
  },
  {
    id: 'unload-during-stream',
    title: 'unload() during a stream ends it promptly with a coded error, and load() works again',
    needs: 'engine',
    async run(c) {
      const p = engine(c);
      await p.load();
      let unloading: Promise<unknown> | undefined;
      let unloadAt = 0;
      const source = endlessSource(wholeCorpus(corpusOf(c)).samples, 300, (pulled) => {
        if (!unloading && pulled >= SAMPLE_RATE) {
          unloadAt = performance.now();
          unloading = p.unload().then(
            () => undefined,
            (e: unknown) => e,
          );
        }
      });
      const stopper = setInterval(() => {
        if (unloadAt && performance.now() - unloadAt > c.promptMs) source.stop();
      }, 50);
      const r = await collect(p, source.frames).finally(() => clearInterval(stopper));
      if (!unloading) fail(`the stream ended after ${source.pulled()} samples, before the kit unloaded the provider`);
      const unloadErr = await within(unloading, c.promptMs, 'unload()');
      if (unloadErr !== undefined) fail(`unload() threw ${describeError(unloadErr)}`);
      const tookMs = r.endedAt - unloadAt;
      if (tookMs > c.promptMs) fail(`the stream ran on for ${Math.round(tookMs)} ms after unload() (limit ${c.promptMs} ms)`);
      if (r.error === undefined) {
        fail(`the stream ended without an error ${Math.round(tookMs)} ms after unload(), after reading ${(source.pulled() / SAMPLE_RATE).toFixed(1)} s: a client cannot tell its transcript was cut`);
      }
      if (!hasCode(r.error)) fail(`the stream ended with ${describeError(r.error)}`);
      await p.load();
      const u = probe(c);
      recognizable(u.text, finalText(await transcribeOk(p, framesOf(u.samples), 'after the unload and a new load()')), 'after the unload and a new load()');
      return `ended ${Math.round(tookMs)} ms after unload() with ${(r.error as { code: string }).code}; loads and transcribes again`;
    },
  },
];

/**
 * The utterance the single-stream checks transcribe (see {@link ConformanceCorpus}): of the default corpus the one
 * tiny.en hears best (0 errors in 15 words for faster-whisper and whisper.cpp, where the fox sentence has 4 in 9),
 * so "recognizable" (WER < 60 %) has its margin.
 */
function probe(c: CheckContext): Utterance {
  return corpusOf(c).utterances[2];
}

function corpusOf(c: CheckContext) {
  if (!c.state.corpus) fail(`not run: ${c.state.corpusError ?? 'no corpus'}`);
  return c.state.corpus;
}

async function* emptyFrames(n: number): AsyncGenerator<Int16Array> {
  for (let i = 0; i < n; i++) yield new Int16Array(0);
}

function speechRuns(c: CheckContext): readonly StreamRun[] {
  if (c.state.speechRuns.length === 0) fail('not run: transcribes-speech did not transcribe the corpus');
  return c.state.speechRuns;
}
