import type { Segment, TranscriptionEvent } from '@echopanel/plugin-api';

interface Piece {
  /** Offset in the speech-only stream. */
  readonly packed: number;
  /** Offset in the original stream. */
  readonly original: number;
  length: number;
}

/**
 * Maps times of a speech-only stream (silence cut out) back to the original stream: the speech runs are
 * recorded as they are forwarded, in order.
 */
export class TimelineMap {
  private readonly pieces: Piece[] = [];
  private packedTotal = 0;

  constructor(
    private readonly sampleRate: number,
    /** Original-stream sample offset added to everything (start of the phase). */
    private readonly baseSample = 0,
  ) {}

  /** Records `length` samples forwarded from original offset `original`. */
  add(original: number, length: number): void {
    if (length <= 0) return;
    const last = this.pieces[this.pieces.length - 1];
    if (last && last.original + last.length === original) last.length += length;
    else this.pieces.push({ packed: this.packedTotal, original, length });
    this.packedTotal += length;
  }

  /** Original-stream seconds of a speech-stream time; an end time on a seam maps to the end of the earlier run. */
  seconds(packedSeconds: number, side: 'start' | 'end'): number {
    return (this.baseSample + this.sample(packedSeconds * this.sampleRate, side)) / this.sampleRate;
  }

  segment(seg: Segment): Segment {
    return {
      ...seg,
      start: round3(this.seconds(seg.start, 'start')),
      end: round3(this.seconds(seg.end, 'end')),
      ...(seg.words ? { words: seg.words.map((w) => ({ ...w, start: round3(this.seconds(w.start, 'start')), end: round3(this.seconds(w.end, 'end')) })) } : {}),
    };
  }

  event(e: TranscriptionEvent): TranscriptionEvent {
    if (e.type === 'transcribed' || e.type === 'skipped' || e.type === 'dropped') {
      return { ...e, start: this.seconds(e.start, 'start'), end: this.seconds(e.end, 'end') };
    }
    return e;
  }

  private sample(x: number, side: 'start' | 'end'): number {
    const p = this.pieces;
    if (p.length === 0) return x;
    let lo = 0;
    let hi = p.length - 1;
    // last piece whose packed start is before x (for ends) or at/before x (for starts)
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const before = side === 'end' ? p[mid].packed < x : p[mid].packed <= x;
      if (before) lo = mid;
      else hi = mid - 1;
    }
    const piece = p[lo];
    const into = Math.max(0, x - piece.packed);
    return piece.original + (lo === p.length - 1 ? into : Math.min(into, piece.length));
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
