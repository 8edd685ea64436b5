// jobs: the queue with live progress bars, speed, ETA and pause/resume/cancel/retry.
// Progress comes from job_progress events (no refetch per tick); any other job_* event refetches
// the list (debounced), so the card is right even after a missed event or a reconnect.
import { h, render, formatDuration, formatTime, toast } from '../util.js';
import { CardElement } from './index.js';

const LIST_EVENTS = ['job_queued', 'job_started', 'job_finished', 'job_failed', 'job_canceled', 'job_paused', 'job_resumed'];

export function actionsFor(job) {
  switch (job.status) {
    case 'running':
      return ['pause', 'cancel'];
    case 'queued':
      return ['pause', 'cancel'];
    case 'paused':
      return ['resume', 'cancel'];
    case 'error':
    case 'canceled':
      return ['retry'];
    default:
      return [];
  }
}

function jobLabel(job) {
  const payload = job.payload || {};
  const path = payload.source || payload.path || payload.input || payload.file || '';
  const name = String(path).split(/[\\/]/).pop();
  return name ? `${job.type} · ${name}` : job.type;
}

class JobsCard extends CardElement {
  setConfig(config) {
    super.setConfig({ limit: 10, show_finished: true, ...config });
  }

  async setup() {
    this.jobs = [];
    this.rows = new Map();
    this.own(this.hub.on('job_progress', (ev) => this.progress(ev.data)));
    for (const type of LIST_EVENTS) this.own(this.hub.on(type, () => this.refreshSoon()));
    const onConnect = (ev) => ev.detail.connected && this.refreshSoon();
    this.hub.addEventListener('connection', onConnect);
    this.own(() => this.hub.removeEventListener('connection', onConnect));
    await this.refresh();
  }

  refreshSoon() {
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this.refresh(), 150);
  }

  async refresh() {
    const statuses = this.config.status || (this.config.show_finished ? '' : 'queued,running,paused');
    const q = new URLSearchParams({ limit: String(this.config.limit) });
    if (statuses) q.set('status', statuses);
    try {
      this.jobs = await this.hub.api('GET', `/api/jobs?${q}`);
      this.error = null;
    } catch (err) {
      this.error = err.message;
    }
    this.update();
  }

  progress(data) {
    const job = this.jobs.find((j) => j.id === data.job_id);
    if (!job) {
      this.refreshSoon();
      return;
    }
    Object.assign(job, { status: 'running', progress: data.percent, speed: data.speed, eta: data.eta, message: data.message });
    const row = this.rows.get(job.id);
    if (row) this.fillRow(row, job);
  }

  async act(job, action) {
    try {
      await this.hub.api('POST', `/api/jobs/${job.id}/${action}`);
    } catch (err) {
      toast(`${action} job ${job.id}: ${err.message}`, 'error');
    }
    this.refreshSoon();
  }

  fillRow(row, job) {
    const pct = Number.isFinite(job.progress) ? Math.max(0, Math.min(100, job.progress)) : job.status === 'done' ? 100 : 0;
    row.bar.style.width = `${pct}%`;
    row.bar.parentElement.setAttribute('aria-valuenow', String(Math.round(pct)));
    const bits = [];
    if (job.status === 'running') {
      bits.push(`${pct.toFixed(1)}%`);
      if (Number.isFinite(job.speed) && job.speed) bits.push(`${job.speed.toFixed(2)}×`);
      if (Number.isFinite(job.eta)) bits.push(`ETA ${formatDuration(job.eta)}`);
    }
    if (job.status === 'queued' && job.blocked_reason) bits.push(job.blocked_reason);
    if (job.status === 'error' && job.error) bits.push(job.error);
    if (job.message && job.status === 'running') bits.push(job.message);
    if (job.status === 'done') bits.push(`finished ${formatTime(job.finished)}`);
    row.detail.textContent = bits.join(' · ');
    row.status.textContent = job.status;
    row.status.className = `badge ${{ running: 'warn', done: 'ok', error: 'bad', paused: '', queued: '', canceled: '' }[job.status] ?? ''}`;
  }

  update() {
    this.rows.clear();
    const list = h('div', { class: 'jobs-list' });
    for (const job of this.jobs) {
      const bar = h('div', {});
      const status = h('span', {});
      const detail = h('div', { class: 'hint' });
      const row = { bar, status, detail };
      this.rows.set(job.id, row);
      list.append(
        h(
          'div',
          { class: 'job', dataset: { jobId: job.id, status: job.status }, style: { padding: '6px 0', borderBottom: '1px solid var(--border)' } },
          h('div', { class: 'row' }, h('span', { class: 'grow', title: JSON.stringify(job.payload || {}) }, `#${job.id} ${jobLabel(job)}`), status,
            actionsFor(job).map((a) => h('button', { type: 'button', class: a === 'cancel' ? 'danger' : '', dataset: { action: a }, onclick: () => this.act(job, a), 'aria-label': `${a} job ${job.id}` }, a))),
          h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100 }, bar),
          detail,
        ),
      );
      this.fillRow(row, job);
    }
    render(
      this,
      h('div', { class: 'card-title' }, this.config.title ?? 'Jobs'),
      this.error ? h('p', { class: 'error' }, this.error) : null,
      this.jobs.length ? list : h('p', { class: 'muted' }, 'No jobs.'),
    );
  }
}
customElements.define('so-jobs-card', JobsCard);
