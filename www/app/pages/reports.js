// Reports: the weekly studio report as charts — hours recorded per day, disk free space over time,
// top games and scenes, job backlog — from the aggregates the `reports` component stores in
// so_reports (GET /api/reports, /api/reports/{id}); "Generate now" calls reports.emit.

import { formatBytes, formatTime, h, PageElement, render, toast } from '../util.js';
import { barChart, CHART_CSS, hbarChart, lineChart } from '../lib/reports-charts.js';

const STYLE = `
.reports-page .reports-bar { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-bottom: 10px; }
.reports-page .reports-bar select { max-width: 380px; }
.reports-page .kpis { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 8px; margin-bottom: 10px; }
.reports-page .kpi { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 8px 10px; }
.reports-page .kpi b { display: block; font-size: 22px; font-variant-numeric: tabular-nums; }
.reports-page .kpi span { color: var(--muted); font-size: 12px; }
.reports-page .charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 10px; }
.reports-page .chart-card { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 8px 10px; min-width: 0; }
.reports-page .chart-card h2 { margin: 0 0 4px; font-size: 14px; }
.reports-page .empty { color: var(--muted); padding: 16px 0; }
${CHART_CSS}`;

function ensureStyle() {
  if (document.getElementById('so-reports-style')) return;
  document.head.append(h('style', { id: 'so-reports-style' }, STYLE));
}

function day(ts) {
  return new Date(ts * 1000).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

function describe(item) {
  const kind = item.kind.replace('studio_', '');
  const hours = item.summary?.hours != null ? ` · ${Number(item.summary.hours).toFixed(1)} h` : '';
  return `${kind[0].toUpperCase()}${kind.slice(1)} ${day(item.period_start)} → ${day(item.period_end)}${hours}`;
}

class ReportsPage extends PageElement {
  async setup() {
    ensureStyle();
    this.classList.add('reports-page');
    this.picker = h('select', { 'aria-label': 'Report', onchange: () => this.show(Number(this.picker.value)) });
    this.period = h(
      'select',
      { 'aria-label': 'Period' },
      h('option', { value: 'week' }, 'Last 7 days'),
      h('option', { value: 'day' }, 'Last 24 hours'),
      h('option', { value: 'month' }, 'Last 30 days'),
    );
    this.generate = h('button', { type: 'button', class: 'primary', onclick: () => this.emit() }, 'Generate now');
    this.body = h('div', { class: 'report-body', 'aria-live': 'polite' });
    render(
      this,
      h('h1', {}, 'Reports'),
      h('div', { class: 'reports-bar' }, this.picker, h('span', { class: 'muted' }, 'or'), this.period, this.generate),
      this.body,
    );
    this.own(
      this.hub.on('report_emitted', (event) => {
        if (event.data?.id) this.refresh(this.pendingId ?? undefined);
      }),
    );
    await this.refresh();
  }

  async refresh(select) {
    const list = await this.hub.api('GET', '/api/reports?limit=50');
    const current = select ?? (Number(this.picker.value) || list.items[0]?.id);
    render(
      this.picker,
      list.items.length ? list.items.map((item) => h('option', { value: item.id }, describe(item))) : h('option', { value: '' }, 'No reports yet'),
    );
    if (current) {
      this.picker.value = String(current);
      await this.show(current);
    } else {
      render(this.body, h('p', { class: 'empty' }, 'No report has been made yet. The weekly report appears every Monday; “Generate now” makes one at once.'));
    }
  }

  async emit() {
    this.generate.disabled = true;
    try {
      const report = await this.hub.callService('reports', 'emit', { period: this.period.value }, { returnResponse: true });
      this.pendingId = report.id;
      await this.refresh(report.id);
    } catch (err) {
      toast(`Report not made: ${err.message}`, 'error');
    } finally {
      this.generate.disabled = false;
      this.pendingId = null;
    }
  }

  async show(id) {
    if (!id) return;
    let report;
    try {
      report = await this.hub.api('GET', `/api/reports/${id}`);
    } catch (err) {
      render(this.body, h('p', { class: 'error' }, err.message));
      return;
    }
    this.dataset.report = String(id);
    const d = report.data || {};
    const rec = d.recording || {};
    const backlog = d.backlog || {};
    const assets = d.assets || {};
    const growth = backlog.growth ?? 0;
    const kpi = (value, label) => h('div', { class: 'kpi' }, h('b', {}, value), h('span', {}, label));
    const card = (heading, content, empty) =>
      h('section', { class: 'chart-card' }, h('h2', {}, heading), content || h('p', { class: 'empty' }, empty));
    const drives = (d.disk?.drives || []).filter((dr) => dr.points.length);
    const unit = drives[0]?.unit || '';
    render(
      this.body,
      h(
        'div',
        { class: 'kpis' },
        kpi(`${Number(rec.hours || 0).toFixed(1)} h`, `recorded in ${rec.sessions || 0} sessions`),
        kpi(`${Number(rec.longest_hours || 0).toFixed(1)} h`, 'longest session'),
        kpi(`${growth > 0 ? '+' : ''}${growth}`, `backlog change (peak ${backlog.peak ?? 0})`),
        kpi(String(backlog.done ?? 0), `jobs done, ${backlog.failed ?? 0} failed`),
        kpi(String(assets.count ?? 0), `files indexed · ${formatBytes(assets.bytes ?? 0)}`),
      ),
      h(
        'div',
        { class: 'charts' },
        card(
          'Hours recorded per day',
          (rec.by_day || []).length
            ? barChart(rec.by_day.map((b) => ({ label: b.day, short: b.day.slice(5), value: b.hours })), { unit: 'h', label: 'Hours recorded per day' })
            : null,
          'No days in this period.',
        ),
        card(
          'Free disk space',
          drives.length
            ? lineChart(
                drives.map((dr) => ({ name: dr.name, points: dr.points.map((p) => ({ t: p.t, v: p.free })) })),
                { unit, label: 'Free disk space per drive', start: report.period_start, end: report.period_end },
              )
            : null,
          'No drive free-space samples in this period (sensor.drive_*_free).',
        ),
        card(
          'Top games',
          (d.top_games || []).length ? hbarChart(d.top_games.map((g) => ({ name: g.name, value: g.hours })), { unit: 'h', label: 'Top games by hours recorded' }) : null,
          'No recordings in this period.',
        ),
        card(
          'Top scenes while recording',
          (d.top_scenes || []).length ? hbarChart(d.top_scenes.map((s) => ({ name: s.name, value: s.hours })), { unit: 'h', label: 'Top scenes by time on air' }) : null,
          'No scene history in this period.',
        ),
        card(
          'Job backlog',
          (backlog.points || []).length > 1
            ? lineChart([{ name: 'jobs waiting', points: backlog.points.map((p) => ({ t: p.t, v: p.queued })) }], {
                label: 'Jobs waiting over time',
                start: report.period_start,
                end: backlog.points[backlog.points.length - 1].t,
              })
            : null,
          'No jobs in this period.',
        ),
        h(
          'section',
          { class: 'chart-card' },
          h('h2', {}, 'About this report'),
          h('p', {}, `${formatTime(report.period_start)} → ${formatTime(report.period_end)}`),
          h('p', { class: 'muted' }, `Made ${formatTime(report.created)} (${d.time_zone || 'UTC'}). Hours count recording time clipped to the period; scenes count time on each scene while recording; the backlog counts jobs waiting to start.`),
        ),
      ),
    );
  }
}

customElements.define('so-page-reports', ReportsPage);
