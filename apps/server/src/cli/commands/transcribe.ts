import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EchoPanelError, decodeWav, formatSrt, formatText, formatVtt, resampleLinear } from '@echopanel/core';
import { EngineHost } from '../../server/engine-host.js';
import { transcribePcm } from '../../server/file-transcriber.js';
import { cliLogger, loadRuntime } from '../load-runtime.js';

const FORMATS = ['text', 'json', 'srt', 'vtt'] as const;
type Format = (typeof FORMATS)[number];

/**
 * `echopanel transcribe FILE.wav`: decodes the WAV and streams it through the same engine host and pipeline as
 * the server (provider selection, ModelManager, VAD segmentation), then prints the transcript.
 */
export function registerTranscribeCommand(program: Command): void {
  program
    .command('transcribe')
    .description('transcribe a WAV file')
    .argument('<file>', 'WAV file (PCM or float; other sample rates are resampled to 16 kHz)')
    .option('--config <file>', 'config file')
    .option('--provider <name>', 'provider (default: asr.provider from the config)')
    .option('--language <code>', 'language (default: asr.language)')
    .option('--format <format>', `output: ${FORMATS.join('|')}`, 'text')
    .action(async (file: string, opts: { config?: string; provider?: string; language?: string; format: string }) => {
      if (!FORMATS.includes(opts.format as Format)) {
        throw new EchoPanelError('INVALID_CONFIG', `--format must be one of ${FORMATS.join(', ')} (got '${opts.format}')`);
      }
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (err) {
        throw new EchoPanelError('INVALID_AUDIO', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
      }
      const audio = decodeWav(bytes);
      let samples = audio.samples;
      if (audio.sampleRate !== 16000) {
        process.stderr.write(`echopanel: resampling ${audio.sampleRate} Hz to 16000 Hz\n`);
        samples = resampleLinear(samples, audio.sampleRate, 16000);
      }
      // --provider is the ECHOPANEL_ASR_PROVIDER override, so it goes through the same validation as config. A
      // one-shot file job skips warmup and the degrade ladder (it is not real-time: nothing should be dropped).
      const env = {
        ECHOPANEL_WARMUP_LEVEL: '1',
        ECHOPANEL_DEGRADE_ENABLED: 'false',
        ...process.env,
        ...(opts.provider ? { ECHOPANEL_ASR_PROVIDER: opts.provider } : {}),
      };
      const logger = cliLogger();
      const runtime = await loadRuntime({ config: opts.config, env }, logger);
      const host = await EngineHost.create({ runtime, logger }).catch(async (err: unknown) => {
        await runtime.dispose();
        throw err;
      });
      try {
        await host.start();
        const provider = host.requireProvider();
        const result = await transcribePcm(samples, {
          provider,
          detector: host.createDetector(),
          asr: runtime.config.asr,
          language: opts.language,
        });
        if (result.stats.droppedSamples > 0) {
          const last = result.errors.at(-1);
          throw new EchoPanelError(
            last?.code ?? 'INFERENCE_FAILED',
            `${(result.stats.droppedSamples / 16000).toFixed(2)} s of audio could not be transcribed${last ? `: ${last.message}` : ''}`,
          );
        }
        const segments = result.segments;
        const format = opts.format as Format;
        const out =
          format === 'json'
            ? JSON.stringify(
                { provider: host.providerName, model: provider.modelInfo?.() ?? null, duration: samples.length / 16000, text: formatText(segments), segments, stats: result.stats },
                null,
                2,
              ) + '\n'
            : format === 'srt'
              ? formatSrt(segments)
              : format === 'vtt'
                ? formatVtt(segments)
                : formatText(segments) + '\n';
        process.stdout.write(out);
      } finally {
        await host.close();
        await runtime.dispose();
      }
    });
}
