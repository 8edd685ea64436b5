// status: Recording / Processing / Idle at a glance, with why heavy jobs are (not) held back.
import { h, render } from '../util.js';
import { CardElement } from './index.js';

const WATCHED = [
  'binary_sensor.obs_recording',
  'binary_sensor.obs_connected',
  'sensor.obs_scene',
  'sensor.jobs_queued',
  'sensor.jobs_running',
  'switch.guardrails',
  'binary_sensor.guardrail_recording',
  'binary_sensor.guardrail_cpu',
  'binary_sensor.guardrail_gpu',
];

class StatusCard extends CardElement {
  setup() {
    this.own(this.hub.watch([...WATCHED, ...(this.config.entities || [])], () => this.update()));
    this.update();
  }

  update() {
    const s = (id) => this.hub.state(id);
    const recording = s('binary_sensor.obs_recording')?.state === 'on';
    const running = Number(s('sensor.jobs_running')?.state) || 0;
    const queued = Number(s('sensor.jobs_queued')?.state) || 0;
    const [label, cls] = recording ? ['Recording', 'rec'] : running ? ['Processing', 'warn'] : ['Idle', 'ok'];
    const guard = s('switch.guardrails');
    const reasons = guard?.attributes?.reasons || [];
    let guardText;
    if (!guard) guardText = 'guardrails not available';
    else if (guard.state !== 'on') guardText = 'guardrails off: heavy jobs run regardless of load';
    else if (reasons.length) guardText = `holding heavy jobs: ${reasons.join('; ')}`;
    else guardText = 'guardrails on, nothing held';
    const scene = s('sensor.obs_scene');
    render(
      this,
      h('div', { class: 'card-title' }, this.config.title ?? 'Status'),
      h('div', { class: 'row' }, h('span', { class: `badge ${cls}`, id: 'studio-status', style: { fontSize: '18px', padding: '4px 14px' } }, label),
        scene ? h('span', { class: 'muted' }, `scene: ${scene.state}`) : null),
      h('p', {}, `${running} running, ${queued} queued`),
      h('p', { class: reasons.length ? 'warn' : 'muted', dataset: { guard: guard?.state || 'missing' } }, guardText),
      (this.config.entities || []).map((id) => h('div', { class: 'row' }, h('span', { class: 'grow' }, s(id)?.attributes?.friendly_name || id), h('span', {}, s(id)?.state ?? '—'))),
    );
  }
}
customElements.define('so-status-card', StatusCard);
