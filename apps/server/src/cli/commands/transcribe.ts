import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { EchoPanelError, decodeAudioFile, formatSrt, formatText, formatVtt } from '@echopanel/core';
import { EngineHost } from '../../server/engine-host.js';
import { transcribeFile } from '../../server/file-transcriber.js';
import { cliLogger } from '../cli-logger.js';
import { loadRuntime } from '../load-runtime.js';
import { languageOption } from '../option-values.js';

const FORMATS = ['text', 'json', 'srt', 'vtt'] as const;
type Format = (typeof FORMATS)[number];

/**
 * `echopanel transcribe FILE`: decodes the audio (any format FFmpeg reads) and streams it through the same engine host and pipeline as
 * the server (provider selection, ModelManager, VAD segmentation), then prints the transcript.
 */
export function registerTranscribeCommand(program: Command): void {
  program
    .command('transcribe')
    .description('transcribe an audio file')
    .argument('<file>', 'audio file: mp3, m4a, ogg, webm, flac, wav, … (decoded by FFmpeg to 16 kHz mono)')
    .option('--config <file>', 'config file')
    .option('--provider <name>', 'provider (default: asr.provider from the config)')
    .option('--language <code>', 'language (default: asr.language)', languageOption)
    .option('--format <format>', `output: ${FORMATS.join('|')}`, 'text')
    .action(async (file: string, opts: { config?: string; provider?: string; language?: string; format: string }) => {
      if (!FORMATS.includes(opts.format as Format)) {
        throw new EchoPanelError('INVALID_CONFIG', `--format must be one of ${FORMATS.join(', ')} (got '${opts.format}')`);
      }
      try {
        await access(file);
      } catch (err) {
        throw new EchoPanelError('INVALID_AUDIO', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
      }
      // The same decoding as uploads, into a temporary file that is removed when the command ends.
      const recording = await decodeAudioFile(file);
      // --provider is the ECHOPANEL_ASR_PROVIDER override, so it goes through the same validation as config. A
      // one-shot file job skips warmup and the degrade ladder (it is not real-time: nothing should be dropped).
      const env = {
        ECHOPANEL_WARMUP_LEVEL: '1',
        ECHOPANEL_DEGRADE_ENABLED: 'false',
        ...process.env,
        ...(opts.provider ? { ECHOPANEL_ASR_PROVIDER: opts.provider } : {}),
      };
      const logger = cliLogger();
      const runtime = await loadRuntime({ config: opts.config, env, oneShot: true }, logger).catch(async (err: unknown) => {
        await recording.dispose();
        throw err;
      });
      const host = await EngineHost.create({ runtime, logger }).catch(async (err: unknown) => {
        await runtime.dispose();
        await recording.dispose();
        throw err;
      });
      try {
        await host.start();
        // The model's own failure (MODEL_CORRUPT, PROVIDER_UNAVAILABLE, …), not the server's NOT_READY advice.
        const failure = host.initFailure();
        if (failure) throw failure;
        const provider = host.requireProvider();
        const result = await transcribeFile(recording, {
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
                { provider: host.providerName, model: provider.modelInfo?.() ?? null, duration: recording.length / 16000, text: formatText(segments), segments, stats: result.stats },
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
        await recording.dispose();
      }
    });
}
