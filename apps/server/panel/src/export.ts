// SubRip and WebVTT come from core's formatter (the same one the server's upload route and the CLI use): a
// plain module without Node imports, which esbuild bundles into the page.
import { formatSrt, formatVtt } from '../../../../packages/core/src/text/subtitles.js';
import { clock } from './clock.js';
import { laneName, type TranscriptLine } from './transcript.js';

export const EXPORT_FORMATS = ['txt', 'srt', 'vtt', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportMeta {
  readonly provider?: string;
  readonly model?: string;
  /** When the session started (wall clock). */
  readonly startedAt: Date;
}

export interface ExportedFile {
  readonly name: string;
  readonly type: string;
  readonly body: string;
}

/** The session's finals in one of the export formats; lines name their lane only when there is more than one. */
export function exportTranscript(lines: readonly TranscriptLine[], format: ExportFormat, meta: ExportMeta): ExportedFile {
  const lanes = new Set(lines.map((l) => l.source)).size > 1;
  const said = (l: TranscriptLine) => (lanes ? `${laneName(l.source)}: ${l.text.trim()}` : l.text.trim());
  const segments = lines.map((l) => ({ text: said(l), start: l.start, end: l.end, isFinal: true }));
  const stem = `echopanel-${meta.startedAt.toISOString().slice(0, 19).replace(/[:T]/g, '-')}`;
  switch (format) {
    case 'srt':
      return { name: `${stem}.srt`, type: 'application/x-subrip', body: formatSrt(segments) };
    case 'vtt':
      return { name: `${stem}.vtt`, type: 'text/vtt', body: formatVtt(segments) };
    case 'json':
      return {
        name: `${stem}.json`,
        type: 'application/json',
        body: JSON.stringify(
          {
            started_at: meta.startedAt.toISOString(),
            provider: meta.provider ?? null,
            model: meta.model ?? null,
            segments: lines.map((l) => ({ source: l.source, lane: laneName(l.source), start: l.start, end: l.end, text: l.text.trim(), confidence: l.confidence ?? null, language: l.language ?? null })),
          },
          null,
          2,
        ),
      };
    default:
      return { name: `${stem}.txt`, type: 'text/plain', body: lines.map((l) => `[${clock(l.start)}] ${said(l)}`).join('\n') + (lines.length ? '\n' : '') };
  }
}

/** Offers `file` as a download. */
export function download(file: ExportedFile): void {
  const url = URL.createObjectURL(new Blob([file.body], { type: `${file.type};charset=utf-8` }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
