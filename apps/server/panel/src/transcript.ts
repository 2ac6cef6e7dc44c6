import { clock } from './clock.js';

/** One final line of the session, on the panel's timeline (seconds since the session started). */
export interface TranscriptLine {
  readonly source: string;
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly confidence?: number | null;
  readonly language?: string;
}

/** Lane names: what the listener calls each source. */
export function laneName(source: string): string {
  if (source === 'mic') return 'You';
  if (source === 'system') return 'Others';
  return source;
}

/** Within this many pixels of the bottom the log counts as "at the end" and follows new lines. */
const PINNED_SLACK_PX = 24;

/**
 * The transcript: finals in the `role="log"` region in timeline order (two sources interleave), partials below
 * it (stable prefix and tail styled apart), auto-scroll that pauses while the user reads further up.
 */
export class TranscriptView {
  private readonly items: { line: TranscriptLine; el: HTMLElement }[] = [];
  private readonly partialEls = new Map<string, HTMLElement>();
  private pinned = true;

  constructor(
    private readonly log: HTMLElement,
    private readonly partials: HTMLElement,
    private readonly jump: HTMLButtonElement,
  ) {
    log.addEventListener('scroll', () => {
      this.pinned = log.scrollHeight - log.scrollTop - log.clientHeight <= PINNED_SLACK_PX;
      jump.hidden = this.pinned;
    });
    jump.addEventListener('click', () => {
      this.pinned = true;
      jump.hidden = true;
      this.follow();
    });
  }

  lines(): readonly TranscriptLine[] {
    return this.items.map((i) => i.line);
  }

  addFinal(line: TranscriptLine): void {
    if (!line.text.trim()) return;
    this.clearPartial(line.source);
    const el = renderLine(line);
    let at = this.items.length;
    while (at > 0 && this.items[at - 1].line.start > line.start) at--;
    this.log.insertBefore(el, this.items[at]?.el ?? null);
    this.items.splice(at, 0, { line, el });
    this.follow();
  }

  setPartial(source: string, stable: string, text: string): void {
    let el = this.partialEls.get(source);
    if (!el) {
      el = document.createElement('p');
      el.className = `partial lane-${cssName(source)}`;
      el.append(span('who', laneName(source)), ' ', span('stable', ''), span('unstable', ''));
      this.partialEls.set(source, el);
      this.partials.append(el);
    }
    // The stable prefix only grows; the rest may still change.
    const tail = text.startsWith(stable) ? text.slice(stable.length) : text;
    el.querySelector('.stable')!.textContent = text.startsWith(stable) ? stable : '';
    el.querySelector('.unstable')!.textContent = tail;
    this.follow();
  }

  clearPartial(source: string): void {
    this.partialEls.get(source)?.remove();
    this.partialEls.delete(source);
  }

  clear(): void {
    for (const i of this.items) i.el.remove();
    this.items.length = 0;
    for (const source of [...this.partialEls.keys()]) this.clearPartial(source);
  }

  private follow(): void {
    if (this.pinned) this.log.scrollTop = this.log.scrollHeight;
  }
}

function renderLine(line: TranscriptLine): HTMLElement {
  const p = document.createElement('p');
  p.className = `line lane-${cssName(line.source)}`;
  const time = document.createElement('time');
  time.textContent = clock(line.start);
  time.dateTime = `PT${line.start.toFixed(1)}S`;
  p.append(time, ' ', span('who', laneName(line.source)), ' ', span('text', line.text.trim()));
  return p;
}

function span(cls: string, text: string): HTMLSpanElement {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  return s;
}

function cssName(source: string): string {
  return source.replace(/[^A-Za-z0-9_-]/g, '_');
}
