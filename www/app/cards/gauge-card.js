// gauge: a half-circle meter for a numeric sensor (CPU, GPU, disk), coloured by severity.
import { h, render, friendlyName } from '../util.js';
import { CardElement } from './index.js';

const NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

class GaugeCard extends CardElement {
  setConfig(config) {
    if (!config.entity) throw new Error("gauge card: 'entity:' is required");
    super.setConfig({ min: 0, max: 100, ...config });
  }

  setup() {
    this.own(this.hub.watch([this.config.entity], () => this.update()));
    this.update();
  }

  color(value) {
    const sev = this.config.severity;
    if (!sev) return 'var(--accent)';
    const levels = [['red', 'var(--bad)'], ['yellow', 'var(--warn)'], ['green', 'var(--ok)']];
    for (const [name, color] of levels) if (sev[name] !== undefined && value >= sev[name]) return color;
    return 'var(--accent)';
  }

  update() {
    const { entity, min, max } = this.config;
    const state = this.hub.state(entity);
    const value = Number(state?.state);
    const ok = state && Number.isFinite(value);
    const frac = ok ? Math.min(1, Math.max(0, (value - min) / (max - min || 1))) : 0;
    const graphic = svg('svg', { viewBox: '0 0 120 70', width: 180, height: 105, role: 'img', 'aria-label': ok ? `${value}` : 'unavailable' });
    const arc = (to) => {
      const angle = Math.PI * (1 - to);
      return `M 10 60 A 50 50 0 0 1 ${60 + 50 * Math.cos(angle)} ${60 - 50 * Math.sin(angle)}`;
    };
    graphic.append(svg('path', { d: arc(1), fill: 'none', stroke: 'var(--panel-2)', 'stroke-width': 10, 'stroke-linecap': 'round' }));
    if (ok && frac > 0) graphic.append(svg('path', { d: arc(frac), fill: 'none', stroke: this.color(value), 'stroke-width': 10, 'stroke-linecap': 'round' }));
    const unit = this.config.unit ?? state?.attributes?.unit_of_measurement ?? '';
    const label = svg('text', { x: 60, y: 58, 'text-anchor': 'middle', 'font-size': 18, fill: 'currentColor' });
    label.textContent = ok ? `${Math.round(value * 10) / 10}${unit}` : '—';
    graphic.append(label);
    render(
      this,
      h('div', { class: 'card-title' }, this.config.title ?? this.config.name ?? friendlyName(state, entity)),
      h('div', { class: 'gauge', dataset: { entity } }, graphic),
      ok ? null : h('p', { class: 'muted', style: { textAlign: 'center', margin: 0 } }, state ? `${entity} is ${state.state}` : `${entity} not available`),
    );
  }
}
customElements.define('so-gauge-card', GaugeCard);
