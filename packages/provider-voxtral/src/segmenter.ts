import { normalizeWord, resolveOverlap } from './overlap.js';

/** A piece of transcript in stream samples (the caller converts to seconds). */
export interface TextSegment {
  readonly text: string;
  readonly startSample: number;
  readonly endSample: number;
  readonly isFinal: boolean;
}

export interface SegmenterOptions {
  /** A final is cut when no text arrived while this many samples were written. */
  readonly pauseSamples: number;
  /** Text arriving when sample N was written describes audio around N − latency. */
  readonly latencySamples: number;
}

/** Sentence end followed by more text: `.`/`!`/`?`/`…` (+ closing quotes) then whitespace, or CJK full stops. */
const SENTENCE_END = /[.!?…]+["'”’)\]]*(?=\s+\S)|[。！？]+(?=\S)/u;
const COMMITTED_WORDS = 64;

interface Mark {
  /** Offset in `pending` where a piece of text that arrived at `at` begins. */
  offset: number;
  at: number;
}

/**
 * Turns voxtral.c's continuous token stream (text only, no timestamps, no newlines) into segments: a partial
 * whenever the text grows, a final at a sentence end (once the next sentence has begun), after a pause (no new text
 * for `pauseSamples` of audio) and at the end of the stream. Times come from how many samples had been written when
 * each piece of text arrived, shifted back by the engine's latency.
 */
export class TranscriptSegmenter {
  private pending = '';
  private marks: Mark[] = [];
  private lastTextAt: number | undefined;
  private lastFinalEnd = 0;
  private committed: string[] = [];
  private dedupe = false;
  private lastPartial = '';

  constructor(private readonly options: SegmenterOptions) {}

  /** True while there is text that is not final yet. */
  get hasPending(): boolean {
    return /\S/.test(this.pending);
  }

  /** New text from stdout, which arrived when stream sample `at` had been written. */
  push(text: string, at: number): TextSegment[] {
    if (!text) return [];
    this.marks.push({ offset: this.pending.length, at });
    this.pending += text;
    if (/\S/.test(text)) this.lastTextAt = at;
    const out: TextSegment[] = [];
    if (this.dedupe && !this.applyDedupe(false)) return out;
    let m: RegExpExecArray | null;
    while ((m = SENTENCE_END.exec(this.pending))) {
      const cut = m.index + m[0].length;
      const seg = this.finalOf(cut);
      if (seg) out.push(seg);
    }
    const partial = this.partial();
    if (partial) out.push(partial);
    return out;
  }

  /** Audio progressed to `at` without text: cut a final once the quiet stretch is long enough. */
  tick(at: number): TextSegment[] {
    if (!this.hasPending || this.lastTextAt === undefined) return [];
    if (at - this.lastTextAt < this.options.pauseSamples) return [];
    return this.flushAll();
  }

  /** Finalize whatever is pending (end of stream). */
  flush(): TextSegment[] {
    if (this.dedupe) this.applyDedupe(true);
    return this.flushAll();
  }

  /**
   * Finalize pending text up to its last word boundary (the replay buffer is full). The last word stays pending:
   * more of it (subword tokens, punctuation) may still be on its way.
   */
  forceCut(): TextSegment[] {
    if (this.dedupe) this.applyDedupe(true);
    const trimmed = this.pending.trimEnd();
    const boundary = trimmed.search(/\s\S*$/);
    if (boundary <= 0 || !/\S/.test(trimmed.slice(0, boundary))) return [];
    const seg = this.finalOf(boundary);
    return seg ? [seg] : [];
  }

  /**
   * The engine was restarted and will re-transcribe from the replay point: the pending (never final) text is
   * dropped, and the first new words are matched against the committed text so repeats are not emitted twice.
   */
  restart(): void {
    this.pending = '';
    this.marks = [];
    this.lastTextAt = undefined;
    this.lastPartial = '';
    this.dedupe = this.committed.length > 0;
  }

  private flushAll(): TextSegment[] {
    const seg = this.finalOf(this.pending.length);
    return seg ? [seg] : [];
  }

  /** Returns false while undecided (nothing may be emitted yet). */
  private applyDedupe(final: boolean): boolean {
    const words = this.pending.trim().split(/\s+/).filter(Boolean);
    const decision = resolveOverlap(this.committed, words.map(normalizeWord), final);
    if (decision === 'hold') return false;
    this.dedupe = false;
    if (decision > 0) {
      const re = /\S+/g;
      for (let i = 0; i < decision; i++) re.exec(this.pending);
      this.consume(re.lastIndex);
    }
    return true;
  }

  private positionOf(index: number): number {
    let at = this.marks[0]?.at ?? 0;
    for (const m of this.marks) {
      if (m.offset > index) break;
      at = m.at;
    }
    return at;
  }

  private span(from: number, to: number): { start: number; end: number } | undefined {
    const text = this.pending.slice(from, to);
    const first = text.search(/\S/);
    if (first < 0) return undefined;
    // The end is the last letter or digit: a '.' is only printed after the pause that follows the words.
    const lastWordChar = text.search(/[\p{L}\p{N}][^\p{L}\p{N}]*$/u);
    const last = lastWordChar >= first ? lastWordChar : text.trimEnd().length - 1;
    const lat = this.options.latencySamples;
    const start = Math.max(this.lastFinalEnd, this.positionOf(from + first) - lat);
    const end = Math.max(start, this.positionOf(from + last) - lat);
    return { start, end };
  }

  private partial(): TextSegment | undefined {
    const s = this.span(0, this.pending.length);
    const text = this.pending.trim();
    // Whitespace (the closing '\n') changes nothing a reader would see.
    if (!s || text === this.lastPartial) return undefined;
    this.lastPartial = text;
    return { text, startSample: s.start, endSample: s.end, isFinal: false };
  }

  /** Cuts `pending[0, cut)` off as a final. */
  private finalOf(cut: number): TextSegment | undefined {
    const s = this.span(0, cut);
    const text = this.pending.slice(0, cut).trim();
    this.consume(cut);
    this.lastPartial = '';
    if (!s || !text) return undefined;
    this.lastFinalEnd = s.end;
    this.committed.push(...text.split(/\s+/).map(normalizeWord));
    if (this.committed.length > COMMITTED_WORDS) this.committed.splice(0, this.committed.length - COMMITTED_WORDS);
    return { text, startSample: s.start, endSample: s.end, isFinal: true };
  }

  /** Removes the first `n` characters of pending text, keeping each remaining character's arrival position. */
  private consume(n: number): void {
    if (n <= 0) return;
    const at = this.positionOf(n);
    this.pending = this.pending.slice(n);
    const rest = this.marks.filter((m) => m.offset > n).map((m) => ({ offset: m.offset - n, at: m.at }));
    this.marks = this.pending.length > 0 ? [{ offset: 0, at }, ...rest] : [];
  }
}
