import { defineProvider, PLUGIN_API_VERSION, type ProviderPlugin } from '@echopanel/plugin-api';
import { z } from 'zod';
import { dtmfCorpus } from '../../template/src/index.js';
import broken, { type Flaw } from './__fixtures__/broken-plugin.js';
import { CONFORMANCE_CHECKS, formatConformanceReport, runProviderConformance, type ConformanceCheckId, type ConformanceOptions } from './index.js';

const options = (flaw?: Flaw): ConformanceOptions => ({
  config: flaw ? { flaw } : {},
  corpus: dtmfCorpus(),
  werBound: 0.05,
  // Short, so the flaws that make a stream run on end the test quickly; the DTMF engine ends in milliseconds.
  promptMs: 2000,
  skip: { 'unavailable-reasons': 'nothing to install' },
});

const failed = (report: Awaited<ReturnType<typeof runProviderConformance>>) => report.results.filter((r) => r.status === 'failed').map((r) => r.id);

describe('the conformance kit on a broken plugin', () => {
  it('the plugin without flaws passes every check it does not declare skipped', async () => {
    const report = await runProviderConformance(broken, options());
    expect(failed(report)).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.results.map((r) => r.id)).toEqual([...CONFORMANCE_CHECKS]);
    expect(report.results.find((r) => r.id === 'transcribes-speech')!.detail).toBe('pooled WER 0.0 % over 58 words of DTMF keys (bound 5.0 %)');
    // Skips say why: declared by the options, or what the capabilities do not claim.
    expect(report.results.find((r) => r.id === 'unavailable-reasons')).toMatchObject({ status: 'skipped', detail: "declared by the provider's kit options: nothing to install" });
    expect(report.results.find((r) => r.id === 'decode-recording')).toMatchObject({ status: 'skipped', detail: 'capabilities.recording is not set' });
  });

  const cases: Array<[Flaw, ConformanceCheckId[], RegExp]> = [
    ['reversed-finals', ['segment-times', 'finals-not-revised'], /finals are not in time order/],
    ['revised-finals', ['finals-not-revised'], /goes back into the final/],
    ['ignores-abort', ['cancellation'], /more audio after the abort|after the abort \(limit/],
    ['text-on-silence', ['silence'], /^5 s of silence gave 1 segment\(s\) with text: "thank you"$/],
    ['uncoded-errors', ['error-codes'], /transcribe at 44.1 kHz threw an error without a code \(bad rate\)/],
    ['survives-unload', ['unload-during-stream'], /ended without an error .* after unload\(\)/],
    ['batch-reordered', ['decode-batch'], /^item 0: decodeBatch heard ".+" where decode alone heard ".+"$/],
  ];

  it.each(cases)('%s fails exactly %j', async (flaw, expected, message) => {
    const report = await runProviderConformance(broken, options(flaw));
    expect(failed(report)).toEqual(expected);
    expect(report.passed).toBe(false);
    expect(report.results.find((r) => r.id === expected[0])!.detail).toMatch(message);
  });

  it('an unavailable provider without a hint fails availability, and the engine checks say they did not run', async () => {
    const report = await runProviderConformance(broken, options('unavailable-without-hint'));
    expect(failed(report)).toEqual(['availability']);
    expect(report.results.find((r) => r.id === 'availability')!.detail).toBe('unavailable here: no license key; an unavailable provider must give a hint');
    const notRun = report.results.filter((r) => r.status === 'skipped' && r.detail.startsWith('not run: the provider is not available here'));
    expect(notRun.map((r) => r.id)).toEqual(CONFORMANCE_CHECKS.slice(CONFORMANCE_CHECKS.indexOf('load-unload')));
  });

  it('a default export not made by defineProvider fails plugin-shape; nothing else runs', async () => {
    const fake = { name: 'fake', apiVersion: PLUGIN_API_VERSION, configSchema: z.object({}), create: () => ({}) } as unknown as ProviderPlugin;
    const report = await runProviderConformance(fake, options());
    expect(failed(report)).toEqual(['plugin-shape']);
    expect(report.results[0].detail).toMatch(/not made by defineProvider/);
    expect(report.results.slice(1).every((r) => r.status === 'skipped')).toBe(true);
  });

  it('a plugin for another API version, or whose schema rejects the config, fails plugin-shape', async () => {
    const other = defineProvider({ name: 'other', apiVersion: 99, configSchema: z.object({}).strict(), create: () => ({}) as never });
    expect((await runProviderConformance(other, options())).results[0].detail).toBe(`apiVersion is 99; this plugin API is ${PLUGIN_API_VERSION}`);
    const strict = defineProvider({ name: 'strict', apiVersion: PLUGIN_API_VERSION, configSchema: z.object({}).strict(), create: () => ({}) as never });
    expect((await runProviderConformance(strict, { ...options(), config: { typo: 1 } })).results[0].detail).toMatch(/^configSchema rejects the config \{"typo":1\}/);
  });

  it('create() throwing an uncoded error fails create with its message', async () => {
    const throws = defineProvider({ name: 'throws', apiVersion: PLUGIN_API_VERSION, configSchema: z.object({}), create: () => { throw new Error('license key missing'); } });
    const report = await runProviderConformance(throws, options());
    expect(failed(report)).toEqual(['create']);
    expect(report.results[1].detail).toBe('create() threw an error without a code (license key missing)');
  });

  it('prints one line per named check and a summary', async () => {
    const text = formatConformanceReport(await runProviderConformance(broken, options('text-on-silence')));
    expect(text).toMatch(/^FAIL {2}silence +\(\d+ ms\) {2}5 s of silence gave/m);
    expect(text).toMatch(/^PASS {2}plugin-shape/m);
    expect(text.split('\n').at(-1)).toBe('broken: 14 passed, 1 failed, 2 skipped (corpus: DTMF keys)');
  });

  it('a corpus too small for a pooled bound fails the checks that need it, saying so', async () => {
    const report = await runProviderConformance(broken, { ...options(), corpus: { name: 'tiny', utterances: dtmfCorpus().utterances.slice(0, 2) } });
    expect(report.results.find((r) => r.id === 'load-unload')!.detail).toMatch(/^not run: the corpus could not be made: corpus 'tiny' has 2 utterances and 24 words; the kit needs at least 4 and 40/);
  });
});
