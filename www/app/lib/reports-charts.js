// Small inline-SVG charts for the Reports page: bars, horizontal bars, lines. No library, no CDN:
// the figures are few (a week of days, a handful of drives/games), and SVG scales with the page.
// Every value is also in a <title> (hover tooltip, and read by screen readers).

const NS = 'http://www.w3.org/2000/svg';
const PALETTE = ['#4c8dff', '#3fb950', '#d29922', '#f85149', '#a371f7', '#39c5cf', '#ff7b72'];

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function title(text) {
  return svg('title', {}, text);
}

/** A "nice" upper bound for an axis (1, 2, 2.5, 5 × 10^n). */
export function niceMax(value) {
  if (!(value > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= value) return m * exp;
  return 10 * exp;
}

function fmt(v) {
  const n = Number(v);
  if (!Number.isFinite(n)) return '—';
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2).replace(/\.?0+$/, '') || '0';
}

function frame(width, height, label) {
  return svg('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-label': label, class: 'report-chart' });
}

function yAxis(root, { left, top, plotH, plotW, max, unit }) {
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    root.append(svg('line', { x1: left, x2: left + plotW, y1: y, y2: y, class: 'grid' }));
    root.append(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis' }, `${fmt((max * i) / 4)}${i === 4 && unit ? ` ${unit}` : ''}`));
  }
}

/** Vertical bars: items [{label, value}]. */
export function barChart(items, { unit = '', label = 'Bar chart', width = 560, height = 220 } = {}) {
  const root = frame(width, height, label);
  const left = 48;
  const top = 12;
  const plotW = width - left - 10;
  const plotH = height - top - 30;
  const max = niceMax(Math.max(0, ...items.map((d) => Number(d.value) || 0)));
  yAxis(root, { left, top, plotH, plotW, max, unit });
  const slot = plotW / Math.max(1, items.length);
  items.forEach((d, i) => {
    const v = Math.max(0, Number(d.value) || 0);
    const h = (plotH * v) / max;
    const x = left + i * slot + slot * 0.15;
    root.append(
      svg('rect', { x, y: top + plotH - h, width: slot * 0.7, height: Math.max(h, v > 0 ? 1 : 0), class: 'bar', fill: PALETTE[0], rx: 2 }, title(`${d.label}: ${fmt(v)} ${unit}`)),
      svg('text', { x: x + slot * 0.35, y: height - 10, 'text-anchor': 'middle', class: 'axis' }, d.short ?? d.label),
    );
  });
  return root;
}

/** Horizontal bars: items [{name, value}] (a ranking). */
export function hbarChart(items, { unit = '', label = 'Ranking', width = 560 } = {}) {
  const row = 24;
  const height = Math.max(row, items.length * row) + 8;
  const root = frame(width, height, label);
  const left = 150;
  const plotW = width - left - 60;
  const max = Math.max(1e-9, ...items.map((d) => Number(d.value) || 0));
  items.forEach((d, i) => {
    const v = Math.max(0, Number(d.value) || 0);
    const y = 4 + i * row;
    const w = (plotW * v) / max;
    const name = String(d.name);
    root.append(
      svg('text', { x: left - 8, y: y + 15, 'text-anchor': 'end', class: 'label' }, name.length > 22 ? `${name.slice(0, 21)}…` : name),
      svg('rect', { x: left, y: y + 3, width: Math.max(w, 1), height: row - 8, rx: 3, fill: PALETTE[i % PALETTE.length], class: 'bar' }, title(`${name}: ${fmt(v)} ${unit}`)),
      svg('text', { x: left + w + 6, y: y + 15, class: 'axis' }, `${fmt(v)} ${unit}`),
    );
  });
  return root;
}

/** Lines over time: series [{name, points: [{t (epoch s), v}]}]. */
export function lineChart(series, { unit = '', label = 'Line chart', width = 560, height = 220, start, end } = {}) {
  const root = frame(width, height, label);
  const left = 56;
  const top = 12;
  const plotW = width - left - 12;
  const plotH = height - top - 46;
  const all = series.flatMap((s) => s.points);
  const t0 = start ?? Math.min(...all.map((p) => p.t));
  const t1 = end ?? Math.max(...all.map((p) => p.t));
  const max = niceMax(Math.max(0, ...all.map((p) => Number(p.v) || 0)));
  yAxis(root, { left, top, plotH, plotW, max, unit });
  const x = (t) => left + (t1 > t0 ? ((t - t0) / (t1 - t0)) * plotW : plotW / 2);
  const y = (v) => top + plotH - (plotH * Math.max(0, Number(v) || 0)) / max;
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    const day = new Date(t * 1000);
    root.append(svg('text', { x: x(t), y: top + plotH + 16, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle', class: 'axis' }, `${day.getMonth() + 1}/${day.getDate()} ${String(day.getHours()).padStart(2, '0')}h`));
  }
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const pts = s.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
    root.append(svg('polyline', { points: pts, fill: 'none', stroke: colour, 'stroke-width': 2, class: 'line' }));
    for (const p of s.points.length <= 60 ? s.points : []) {
      root.append(svg('circle', { cx: x(p.t), cy: y(p.v), r: 3, fill: colour }, title(`${s.name}: ${fmt(p.v)} ${unit} at ${new Date(p.t * 1000).toLocaleString()}`)));
    }
    root.append(
      svg('rect', { x: left + i * 130, y: height - 16, width: 10, height: 10, fill: colour, rx: 2 }),
      svg('text', { x: left + i * 130 + 14, y: height - 7, class: 'label' }, s.name),
    );
  });
  return root;
}

export const CHART_CSS = `
.report-chart { display: block; max-width: 100%; height: auto; }
.report-chart .grid { stroke: var(--border); stroke-width: 1; }
.report-chart .axis { fill: var(--muted); font-size: 11px; }
.report-chart .label { fill: var(--text); font-size: 12px; }
.report-chart .bar:hover { opacity: .8; }
`;
