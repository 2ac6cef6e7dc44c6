import type { Segment } from '@echopanel/plugin-api';

function stamp(seconds: number, sep: ',' | '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3600000);
  const m = Math.floor((ms % 3600000) / 60000);
  const s = Math.floor((ms % 60000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${sep}${pad(ms % 1000, 3)}`;
}

function spoken(segments: readonly Segment[]): readonly Segment[] {
  return segments.filter((s) => s.text.trim());
}

/** SubRip subtitles from final segments. */
export function formatSrt(segments: readonly Segment[]): string {
  return spoken(segments).map((s, i) => `${i + 1}\n${stamp(s.start, ',')} --> ${stamp(s.end, ',')}\n${s.text.trim()}\n`).join('\n');
}

/** WebVTT subtitles from final segments. */
export function formatVtt(segments: readonly Segment[]): string {
  return `WEBVTT\n\n${spoken(segments).map((s) => `${stamp(s.start, '.')} --> ${stamp(s.end, '.')}\n${s.text.trim()}\n`).join('\n')}`;
}

/** Plain transcript: final segments joined by spaces. */
export function formatText(segments: readonly Segment[]): string {
  return segments.map((s) => s.text.trim()).filter(Boolean).join(' ');
}
