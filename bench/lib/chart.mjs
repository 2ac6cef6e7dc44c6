// The bench chart: RTF per provider (engine floor / provider / server) and streaming latency per provider, as
// SVG, converted to PNG with rsvg-convert (apt: librsvg2-bin) when it is installed (otherwise the SVG is kept).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Nice upper bound for an axis. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v * 1.08);
}

/**
 * One grouped bar panel. groups: [{ label, bars: [{ value, min?, max? }] }], series: names of the bars.
 */
function panel({ x, y, w, h, title, unit, groups, series, target }) {
  const out = [];
  const top = y + 50;
  const left = x + 70;
  const plotW = w - 90;
  const plotH = h - 130;
  const all = groups.flatMap((g) => g.bars.flatMap((b) => [b.value, b.max ?? b.value])).filter(Number.isFinite);
  const max = niceMax(Math.max(...all, target?.value ?? 0));
  const Y = (v) => top + plotH - (v / max) * plotH;
  out.push(`<text x="${x + w / 2}" y="${y + 28}" font-size="20" font-weight="bold" text-anchor="middle">${esc(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(v)}" y2="${Y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 8}" y="${Y(v) + 5}" font-size="14" text-anchor="end">${esc(+v.toPrecision(3))}</text>`);
  }
  out.push(`<text x="${x + 16}" y="${top + plotH / 2}" font-size="14" text-anchor="middle" transform="rotate(-90 ${x + 16} ${top + plotH / 2})">${esc(unit)}</text>`);
  const gw = plotW / Math.max(1, groups.length);
  const bw = Math.min(60, (gw * 0.8) / series.length);
  groups.forEach((g, gi) => {
    const gx = left + gi * gw + (gw - bw * series.length) / 2;
    g.bars.forEach((b, bi) => {
      if (!Number.isFinite(b.value)) return;
      const bx = gx + bi * bw;
      out.push(`<rect x="${bx + 2}" y="${Y(b.value)}" width="${bw - 4}" height="${top + plotH - Y(b.value)}" fill="${COLORS[bi % COLORS.length]}"/>`);
      if (Number.isFinite(b.min) && Number.isFinite(b.max)) {
        const cx = bx + bw / 2;
        out.push(`<line x1="${cx}" x2="${cx}" y1="${Y(b.min)}" y2="${Y(b.max)}" stroke="#222" stroke-width="1.5"/>`);
        out.push(`<line x1="${cx - 6}" x2="${cx + 6}" y1="${Y(b.max)}" y2="${Y(b.max)}" stroke="#222" stroke-width="1.5"/>`);
        out.push(`<line x1="${cx - 6}" x2="${cx + 6}" y1="${Y(b.min)}" y2="${Y(b.min)}" stroke="#222" stroke-width="1.5"/>`);
      }
      const label = b.value >= 100 ? b.value.toFixed(0) : b.value.toPrecision(3);
      out.push(`<text x="${bx + bw / 2}" y="${Math.min(Y(b.max ?? b.value), Y(b.value)) - 6}" font-size="13" text-anchor="middle">${esc(label)}</text>`);
    });
    out.push(`<text x="${left + gi * gw + gw / 2}" y="${top + plotH + 24}" font-size="16" text-anchor="middle">${esc(g.label)}</text>`);
  });
  if (target) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${Y(target.value)}" y2="${Y(target.value)}" stroke="#c00" stroke-dasharray="8 5" stroke-width="2"/>`);
    out.push(`<text x="${left + plotW}" y="${Y(target.value) - 6}" font-size="13" fill="#c00" text-anchor="end">${esc(target.label)}</text>`);
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/><line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  series.forEach((s, i) => {
    const lx = left + (i * plotW) / series.length;
    out.push(`<rect x="${lx}" y="${top + plotH + 44}" width="16" height="16" fill="${COLORS[i % COLORS.length]}"/><text x="${lx + 22}" y="${top + plotH + 57}" font-size="14">${esc(s)}</text>`);
  });
  return out.join('\n');
}

/** Writes `<base>.svg` and, with rsvg-convert, `<base>.png`; returns the file that a person should open. */
export function renderChart(results, base) {
  const W = 1400;
  const H = 620;
  const rtf = results.rtf?.results ?? [];
  const lat = results.latency?.results ?? [];
  const parts = [];
  parts.push(
    panel({
      x: 0, y: 40, w: W / 2, h: H - 40,
      title: 'Real-time factor (lower is faster)',
      unit: 'RTF (processing s / audio s)',
      series: ['engine floor', 'provider', 'server over WebSocket'],
      groups: rtf.map((r) => ({ label: r.provider, bars: ['floor', 'provider', 'server'].map((k) => ({ value: r.rtf[k].median, min: r.rtf[k].min, max: r.rtf[k].max })) })),
    }),
  );
  parts.push(
    panel({
      x: W / 2, y: 40, w: W / 2, h: H - 40,
      title: 'Streaming latency (VAD, real-time pace)',
      unit: 'milliseconds',
      series: ['final p50', 'final p95', 'first partial p50'],
      groups: lat.map((r) => ({ label: r.provider, bars: [{ value: r.finalMs.p50 }, { value: r.finalMs.p95 }, { value: r.firstPartialMs.p50 }] })),
      target: { value: 700, label: 'target: final p95 ≤ 700 ms' },
    }),
  );
  const stamp = `EchoPanel bench, tiny.en on ${results.rtf?.audio?.label ?? 'speech'}; whiskers: min–max of the runs`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="26" font-size="16" text-anchor="middle" fill="#444">${esc(stamp)}</text>
${parts.join('\n')}
</svg>`;
  writeFileSync(`${base}.svg`, svg);
  const r = spawnSync('rsvg-convert', ['-w', String(W), '-o', `${base}.png`, `${base}.svg`], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    process.stderr.write(`[bench] rsvg-convert not available (${r.error?.message ?? r.stderr}); install librsvg2-bin for the PNG. Wrote ${base}.svg\n`);
    return `${base}.svg`;
  }
  return `${base}.png`;
}
