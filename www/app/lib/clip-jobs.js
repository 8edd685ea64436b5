// Live job rows for jobs a page queued (clip exports, scene detection, previews).
//
// The page subscribes to the job events *before* it queues anything, and events for a job id it
// does not know yet are kept for a while: a short job can finish before the service call that
// queued it has answered. Tracking a job also reads its journal row once, so a job that was
// already done (the queue deduplicates identical exports) shows its final state at once.

import { h } from '../util.js';

const EVENTS = ['job_started', 'job_progress', 'job_finished', 'job_failed', 'job_canceled', 'job_paused', 'job_resumed'];
const FINAL = new Set(['done', 'error', 'canceled']);

export class JobTracker {
  constructor(hub, list, { onFinished = () => {} } = {}) {
    this.hub = hub;
    this.list = list;
    this.onFinished = onFinished;
    this.jobs = new Map(); // id → {row, el, label, status, percent, output}
    this.early = new Map(); // id → [events] that arrived before track()
    this.unsubs = EVENTS.map((type) => hub.on(type, (event) => this._event(event)));
  }

  destroy() {
    for (const unsub of this.unsubs) unsub();
  }

  track(jobId, label, extra = {}) {
    if (this.jobs.has(jobId)) return this.jobs.get(jobId);
    const bar = h('span');
    const status = h('span', { class: 'status' }, 'queued');
    const out = h('div', { class: 'out' }, extra.output || '');
    const el = h(
      'li',
      { class: 'clip-job', dataset: { jobId, status: 'queued' } },
      h('div', {}, h('strong', {}, `#${jobId} `), label, ' — ', status),
      h('div', { class: 'bar' }, bar),
      out,
    );
    const job = { id: jobId, label, el, bar, statusEl: status, outEl: out, status: 'queued', percent: 0, output: extra.output, onDone: extra.onDone };
    this.jobs.set(jobId, job);
    this.list.prepend(el);
    for (const event of this.early.get(jobId) || []) this._event(event);
    this.early.delete(jobId);
    this.hub
      .api('GET', `/api/jobs/${jobId}`)
      .then((row) => {
        if (!FINAL.has(job.status)) this._apply(job, row.status, row.progress, row.result, row.error);
      })
      .catch(() => {});
    return job;
  }

  _event(event) {
    const id = event.data?.job_id;
    const job = this.jobs.get(id);
    if (!job) {
      if (id != null) {
        const list = this.early.get(id) || [];
        list.push(event);
        this.early.set(id, list.slice(-5));
        if (this.early.size > 200) this.early.delete(this.early.keys().next().value);
      }
      return;
    }
    const d = event.data;
    switch (event.event_type) {
      case 'job_started':
      case 'job_resumed':
        this._apply(job, 'running');
        break;
      case 'job_progress':
        this._apply(job, 'running', d.percent, null, null, d);
        break;
      case 'job_paused':
        this._apply(job, 'paused');
        break;
      case 'job_finished':
        this._apply(job, 'done', 100, d.result);
        break;
      case 'job_failed':
        this._apply(job, 'error', null, null, d.error);
        break;
      case 'job_canceled':
        this._apply(job, 'canceled');
        break;
      default:
    }
  }

  _apply(job, status, percent = null, result = null, error = null, live = null) {
    if (FINAL.has(job.status)) return;
    job.status = status;
    if (percent !== null && percent !== undefined) job.percent = Math.max(0, Math.min(100, Number(percent)));
    job.el.dataset.status = status;
    job.bar.style.width = `${job.percent}%`;
    let text = status;
    if (status === 'running') {
      text = `${job.percent.toFixed(0)} %`;
      if (live?.speed) text += ` · ${Number(live.speed).toFixed(1)}×`;
      if (live?.eta != null && Number.isFinite(Number(live.eta))) text += ` · ${Math.round(live.eta)} s left`;
    }
    if (status === 'error') text = `failed: ${error || 'unknown error'}`;
    job.statusEl.textContent = text;
    if (result?.output) {
      job.output = result.output;
      // Lossless clips snap to keyframes: show the range actually cut.
      const span = result.start != null && result.end != null
        ? ` (${Number(result.start).toFixed(2)}–${Number(result.end).toFixed(2)} s)`
        : '';
      job.outEl.textContent = `${result.output}${span}`;
    }
    if (FINAL.has(status)) {
      job.onDone?.(job, result);
      this.onFinished(job, result);
    }
  }
}
