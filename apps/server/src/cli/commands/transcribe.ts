import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  EchoPanelError,
  decodeWav,
  formatSrt,
  formatText,
  formatVtt,
  pcmFrames,
  resampleLinear,
  type Segment,
  type TranscriptionEvent,
} from '@echopanel/core';
import { loadRuntime } from '../load-runtime.js';
import { selectProvider } from '../select-provider.js';

const FORMATS = ['text', 'json', 'srt', 'vtt'] as const;
type Format = (typeof FORMATS)[number];

/** `echopanel transcribe FILE.wav`: decodes the WAV, streams it through the provider, prints the transcript. */
export function registerTranscribeCommand(program: Command): void {
  program
    .command('transcribe')
    .description('transcribe a WAV file')
    .argument('<file>', 'WAV file (PCM; other sample rates are resampled to 16 kHz)')
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
      const runtime = await loadRuntime(opts);
      try {
        const provider = await selectProvider(runtime, opts.provider);
        await provider.load();
        const segments: Segment[] = [];
        const errors: TranscriptionEvent[] = [];
        const stats = { transcribed: 0, skipped: 0, dropped: 0 };
        for await (const seg of provider.transcribe(pcmFrames(samples, 16000), {
          sampleRate: 16000,
          language: opts.language ?? runtime.config.asr.language,
          onEvent: (e) => {
            if (e.type === 'error') errors.push(e);
            if (e.type === 'transcribed') stats.transcribed += e.samples;
            if (e.type === 'skipped') stats.skipped += e.samples;
            if (e.type === 'dropped') stats.dropped += e.samples;
          },
        })) {
          if (seg.isFinal) segments.push(seg);
        }
        if (stats.dropped > 0) {
          const last = errors.at(-1);
          throw new EchoPanelError(
            last && last.type === 'error' ? last.code : 'INFERENCE_FAILED',
            `${(stats.dropped / 16000).toFixed(2)} s of audio could not be transcribed${last && last.type === 'error' ? `: ${last.message}` : ''}`,
          );
        }
        const format = opts.format as Format;
        const out =
          format === 'json'
            ? JSON.stringify({ provider: provider.name, model: provider.modelInfo?.() ?? null, duration: samples.length / 16000, text: formatText(segments), segments }, null, 2) + '\n'
            : format === 'srt'
              ? formatSrt(segments)
              : format === 'vtt'
                ? formatVtt(segments)
                : formatText(segments) + '\n';
        process.stdout.write(out);
      } finally {
        await runtime.dispose();
      }
    });
}
