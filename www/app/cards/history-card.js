// history: a sensor's recent values as a small inline SVG line chart (from /api/history), extended
// live with state changes.
import { h, render, friendlyName, formatState } from '../util.js';
import { CardElement } from './index.js';

const NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

class HistoryCard extends CardElement {
  setConfig(config) {
    if (!config.entity) throw new Error("history card: 'entity:' is required");
    super.setConfig({ hours: 24, ...config });
  }

  async setup() {
    this.points = [];
    const start = new Date(Date.now() - this.config.hours * 3600 * 1000).toISOString();
    try {
      const data = await this.hub.api('GET', `/api/history/period/${encodeURIComponent(start)}?filter_entity_id=${encodeURIComponent(this.config.entity)}&minimal_response&no_attributes`);
      for (const item of data[0] || []) {
        const v = Number(item.state);
        const t = Date.parse(item.last_changed);
        if (Number.isFinite(v) && Number.isFinite(t)) this.points.push([t, v]);
      }
    } catch (err) {
      this.error = err.message;
    }
    this.own(this.hub.watch([this.config.entity], () => {
      const state = this.hub.state(this.config.entity);
      const v = Number(state?.state);
      if (Number.isFinite(v)) this.points.push([Date.now(), v]);
      this.update();
    }));
    this.update();
  }

  update() {
    const cutoff = Date.now() - this.config.hours * 3600 * 1000;
    this.points = this.points.filter(([t]) => t >= cutoff).slice(-2000);
    const state = this.hub.state(this.config.entity);
    const W = 300;
    const H = 90;
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', height: H, preserveAspectRatio: 'none', role: 'img', 'aria-label': `${this.config.entity} history` });
    if (this.points.length) {
      const values = this.points.map((p) => p[1]);
      let lo = Math.min(...values);
      let hi = Math.max(...values);
      if (hi === lo) {
        hi += 1;
        lo -= 1;
      }
      const t0 = cutoff;
      const t1 = Date.now();
      const x = (t) => ((t - t0) / (t1 - t0)) * W;
      const y = (v) => H - 4 - ((v - lo) / (hi - lo)) * (H - 8);
      // Step line: a state holds until the next change, and the last one until now.
      let d = '';
      this.points.forEach(([t, v], i) => {
        d += i === 0 ? `M ${x(t)} ${y(v)}` : ` H ${x(t)} V ${y(v)}`;
      });
      d += ` H ${W}`;
      chart.append(svg('path', { d, fill: 'none', stroke: 'var(--accent)', 'stroke-width': 1.5, 'vector-effect': 'non-scaling-stroke' }));
      const hiLabel = svg('text', { x: 2, y: 10, 'font-size': 9, fill: 'currentColor', opacity: 0.6 });
      hiLabel.textContent = String(Math.round(hi * 10) / 10);
      const loLabel = svg('text', { x: 2, y: H - 2, 'font-size': 9, fill: 'currentColor', opacity: 0.6 });
      loLabel.textContent = String(Math.round(lo * 10) / 10);
      chart.append(hiLabel, loLabel);
    }
    render(
      this,
      h('div', { class: 'card-title' }, this.config.title ?? this.config.name ?? friendlyName(state, this.config.entity)),
      h('div', { class: 'row' }, h('strong', {}, state ? formatState(state) : '—'), h('span', { class: 'muted' }, `last ${this.config.hours} h`)),
      chart,
      this.error ? h('p', { class: 'error' }, this.error) : this.points.length ? null : h('p', { class: 'muted' }, 'no numeric history yet'),
    );
  }
}
customElements.define('so-history-card', HistoryCard);
