import { formatSrt, formatText, formatVtt, round3, type Segment } from '@echopanel/core';

/** Response formats of OpenAI's `/v1/audio/transcriptions`. */
export const RESPONSE_FORMATS = ['json', 'text', 'verbose_json', 'srt', 'vtt'] as const;
export type ResponseFormat = (typeof RESPONSE_FORMATS)[number];

export interface TranscriptResult {
  readonly segments: readonly Segment[];
  readonly language: string;
  /** Seconds of audio. */
  readonly duration: number;
}

/** OpenAI's `verbose_json` shape (fields an engine does not have are filled with neutral values). */
export function verboseJson(result: TranscriptResult, granularities: readonly string[]): Record<string, unknown> {
  const wantSegments = granularities.length === 0 || granularities.includes('segment');
  const wantWords = granularities.includes('word');
  return {
    task: 'transcribe',
    language: languageName(result.language),
    duration: round3(result.duration),
    text: formatText(result.segments),
    ...(wantSegments
      ? {
          segments: result.segments.map((s, id) => ({
            id,
            seek: 0,
            start: s.start,
            end: s.end,
            text: s.text,
            tokens: [],
            temperature: 0,
            // Confidence is exp-free in our shape: invert the mapping (confidence = 1 + avg_logprob / 2).
            avg_logprob: s.confidence !== undefined ? round3((s.confidence - 1) * 2) : 0,
            compression_ratio: 0,
            no_speech_prob: 0,
          })),
        }
      : {}),
    ...(wantWords ? { words: result.segments.flatMap((s) => (s.words ?? []).map((w) => ({ word: w.word.trim(), start: w.start, end: w.end }))) } : {}),
  };
}

/** A transcript in one response format: what `/v1/audio/transcriptions` answers (and a finished job's result). */
export function renderTranscript(format: ResponseFormat, result: TranscriptResult, granularities: readonly string[] = []): { type: string; body: string | Record<string, unknown> } {
  switch (format) {
    case 'text':
      return { type: 'text/plain; charset=utf-8', body: formatText(result.segments) + '\n' };
    case 'srt':
      return { type: 'text/plain; charset=utf-8', body: formatSrt(result.segments) };
    case 'vtt':
      return { type: 'text/vtt; charset=utf-8', body: formatVtt(result.segments) };
    case 'verbose_json':
      return { type: 'application/json; charset=utf-8', body: verboseJson(result, granularities) };
    default:
      return { type: 'application/json; charset=utf-8', body: { text: formatText(result.segments) } };
  }
}

const LANGUAGE_NAMES: Record<string, string> = {
  en: 'english', de: 'german', fr: 'french', es: 'spanish', it: 'italian', pt: 'portuguese', nl: 'dutch',
  ja: 'japanese', zh: 'chinese', ko: 'korean', ru: 'russian', pl: 'polish', sv: 'swedish', tr: 'turkish',
};

/** OpenAI reports the language by name in verbose_json. */
function languageName(code: string): string {
  return LANGUAGE_NAMES[code] ?? code;
}
