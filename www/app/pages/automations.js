// Automations: list with on/off and last run; per automation a visual view (triggers →
// conditions → actions), a YAML editor whose errors are marked at their line, traces with step
// timings, and Simulate (a dry run against a sample file showing the plan and exact commands).
import '../editor.js';
import { PageElement, h, render, formatTime, toast } from '../util.js';

const NEW_TEMPLATE = `id: my_automation
alias: My automation
triggers:
  - trigger: file_closed
    drive: recordings
conditions: []
actions:
  - action: media.thumbnail
    data:
      source: "{{ trigger.path }}"
`;

function asList(value) {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function summarise(item) {
  if (item === null || typeof item !== 'object') return [String(item), ''];
  const head = item.trigger || item.platform || item.condition || item.action || item.service || Object.keys(item)[0] || '?';
  const rest = Object.fromEntries(Object.entries(item).filter(([k]) => !['trigger', 'platform', 'condition', 'action', 'service'].includes(k)));
  return [String(typeof head === 'object' ? JSON.stringify(head) : head), Object.keys(rest).length ? JSON.stringify(rest) : ''];
}

/** Every `command` array in a (nested) service plan, as a shell-like line. */
export function commandsIn(value, out = []) {
  if (Array.isArray(value)) value.forEach((v) => commandsIn(v, out));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if ((key === 'command' || key === 'argv') && Array.isArray(v) && v.every((x) => typeof x === 'string')) {
        out.push(v.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' '));
      } else commandsIn(v, out);
    }
  }
  return out;
}

/** "automations.yaml:12: message" → {file, line, message}. */
function parseError(text) {
  const m = String(text).match(/^([^:\s][^:]*):(\d+): (.*)$/s);
  return m ? { file: m[1], line: Number(m[2]), message: m[3] } : { file: null, line: null, message: String(text) };
}

class AutomationsPage extends PageElement {
  async setup() {
    this.selected = null;
    this.tab = 'visual';
    this.own(this.hub.watch(null, (changed) => {
      if (changed.some((id) => id.startsWith('automation.'))) this.refreshListSoon();
    }));
    await this.refreshList();
  }

  refreshListSoon() {
    clearTimeout(this._t);
    this._t = setTimeout(() => this.refreshList(), 200);
  }

  async refreshList() {
    this.items = await this.hub.api('GET', '/api/automations');
    this.drawList();
  }

  drawList() {
    if (!this.listEl) {
      this.listEl = h('div', { class: 'card', id: 'automation-list' });
      this.detailEl = h('div', { id: 'automation-detail' });
      render(
        this,
        h('div', { class: 'row' }, h('h1', { class: 'grow' }, 'Automations'),
          h('button', { type: 'button', onclick: () => this.newAutomation() }, 'New automation'),
          h('button', { type: 'button', onclick: () => this.reload() }, 'Reload from YAML')),
        this.listEl,
        this.detailEl,
      );
    }
    render(
      this.listEl,
      h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'On'), h('th', {}, 'Automation'), h('th', {}, 'Last run'), h('th', {}, 'Mode'), h('th', {}, 'Source'))),
        h('tbody', {}, this.items.map((a) => {
          const state = this.hub.state(a.entity_id);
          const on = (state?.state ?? a.state) === 'on';
          return h('tr', { dataset: { automation: a.id }, class: this.selected === a.id ? 'selected' : '' },
            h('td', {}, h('input', {
              type: 'checkbox', checked: on, 'aria-label': `${a.alias || a.id} on/off`,
              onchange: (ev) => this.hub.callService('automation', ev.target.checked ? 'turn_on' : 'turn_off', { entity_id: a.entity_id })
                .catch((err) => toast(err.message, 'error')),
            })),
            h('td', {}, h('a', { href: `#/automations`, onclick: (ev) => { ev.preventDefault(); this.select(a.id); } }, a.alias || a.id),
              h('div', { class: 'hint' }, a.id, a.description ? ` — ${a.description}` : '')),
            h('td', {}, formatTime(state?.attributes?.last_triggered ?? a.last_triggered)),
            h('td', {}, a.mode),
            h('td', { class: 'hint' }, a.source?.origin === 'default' ? 'shipped default' : `${a.source?.file ?? ''}${a.source?.line ? `:${a.source.line}` : ''}`));
        }))),
    );
  }

  async reload() {
    try {
      const r = await this.hub.api('POST', '/api/automations/reload');
      toast(`Reloaded ${r.count} automations`, 'ok');
    } catch (err) {
      toast(`${err.message}: ${(err.body?.errors || []).join('; ')}`, 'error');
    }
    await this.refreshList();
  }

  async select(id, tab = this.tab) {
    this.selected = id;
    this.tab = tab;
    this.current = await this.hub.api('GET', `/api/automations/${encodeURIComponent(id)}`);
    this.drawList();
    this.drawDetail();
  }

  drawDetail() {
    const a = this.current;
    const tabs = [['visual', 'Visual'], ['yaml', 'YAML'], ['traces', 'Traces'], ['simulate', 'Simulate']];
    const body = h('div', { class: 'card' });
    render(
      this.detailEl,
      h('h2', {}, a.alias || a.id),
      h('div', { class: 'tabs', role: 'tablist' }, tabs.map(([key, label]) =>
        h('button', { role: 'tab', type: 'button', dataset: { tab: key }, 'aria-selected': String(this.tab === key), onclick: () => { this.tab = key; this.drawDetail(); } }, label))),
      body,
    );
    this[`draw_${this.tab}`](body, a);
  }

  draw_visual(body, a) {
    const c = a.config || {};
    const triggers = asList(c.triggers ?? c.trigger ?? c.when);
    const conditions = asList(c.conditions ?? c.condition);
    const actions = asList(c.actions ?? c.action ?? c.do);
    const column = (title, items, cls) =>
      h('div', { class: cls },
        h('h3', {}, `${title} (${items.length})`),
        items.length
          ? items.map((item) => {
              const [head, rest] = summarise(item);
              return h('div', { class: 'step' }, h('strong', {}, head), rest ? h('div', { class: 'hint' }, rest) : null);
            })
          : h('div', { class: 'muted' }, title === 'Conditions' ? 'none — always runs' : 'none'));
    render(body, h('div', { class: 'flow', id: 'flow' },
      column('Triggers', triggers, 'flow-triggers'), column('Conditions', conditions, 'flow-conditions'), column('Actions', actions, 'flow-actions')));
  }

  async draw_yaml(body, a) {
    const editor = document.createElement('so-yaml-editor');
    editor.setAttribute('label', `${a.id} YAML`);
    const status = h('span', { role: 'status', class: 'muted', id: 'yaml-status' });
    render(body,
      h('p', { class: 'hint' }, a.source?.origin === 'default'
        ? 'A shipped default: saving writes your version to automations.yaml, which replaces it.'
        : `Saved to ${a.source?.file ?? 'automations.yaml'} (comments elsewhere in the file are kept).`),
      editor,
      h('div', { class: 'row' },
        h('button', { type: 'button', onclick: () => this.checkYaml(editor, status) }, 'Check'),
        h('button', { type: 'button', class: 'primary', id: 'save-automation', onclick: () => this.saveYaml(editor, status, a.id) }, 'Save'),
        status));
    const dumped = await this.hub.api('POST', '/api/frontend/yaml/dump', { data: a.config });
    editor.value = dumped.text;
  }

  async checkYaml(editor, status) {
    const result = await this.hub.api('POST', '/api/frontend/yaml', { text: editor.value, kind: 'automation' });
    editor.setErrors(result.errors);
    status.textContent = result.errors.length ? `${result.errors.length} error(s)` : 'valid';
    status.className = result.errors.length ? 'error' : 'ok';
    return result;
  }

  async saveYaml(editor, status, id) {
    const result = await this.checkYaml(editor, status);
    if (result.errors.length) return;
    try {
      if (id) await this.hub.api('PUT', `/api/automations/${encodeURIComponent(id)}`, result.data);
      else await this.hub.api('POST', '/api/automations', result.data);
      toast('Automation saved', 'ok');
      const newId = id || result.data.id;
      await this.refreshList();
      if (!id && newId) await this.select(newId, 'yaml');
      else if (newId) this.current = await this.hub.api('GET', `/api/automations/${encodeURIComponent(newId)}`);
      status.textContent = 'saved';
      status.className = 'ok';
    } catch (err) {
      const errors = (err.body?.errors || [err.message]).map(parseError);
      editor.setErrors(errors.map((e) => ({ line: e.file === 'editor.yaml' ? e.line : null, message: e.file ? `${e.file}:${e.line}: ${e.message}` : e.message })));
      status.textContent = 'not saved';
      status.className = 'error';
    }
  }

  newAutomation() {
    this.selected = null;
    this.drawList();
    const editor = document.createElement('so-yaml-editor');
    const status = h('span', { role: 'status', class: 'muted' });
    render(this.detailEl, h('h2', {}, 'New automation'), h('div', { class: 'card' }, editor,
      h('div', { class: 'row' },
        h('button', { type: 'button', onclick: () => this.checkYaml(editor, status) }, 'Check'),
        h('button', { type: 'button', class: 'primary', onclick: () => this.saveYaml(editor, status, null) }, 'Create'),
        status)));
    editor.value = NEW_TEMPLATE;
  }

  async draw_traces(body, a) {
    render(body, h('p', { class: 'muted' }, 'Loading traces…'));
    const traces = await this.hub.api('GET', `/api/automations/${encodeURIComponent(a.id)}/traces?limit=20`);
    if (!traces.length) {
      render(body, h('p', { class: 'muted' }, 'No runs yet.'));
      return;
    }
    render(body, h('div', { id: 'traces' }, traces.map((t) => {
      const trace = t.trace || t;
      const steps = [...(trace.conditions || []), ...(trace.steps || [])];
      const dur = trace.duration ?? (t.finished && t.started ? t.finished - t.started : null);
      return h('details', { class: 'trace' },
        h('summary', {}, `${formatTime(t.started ?? trace.started)} — ${t.state ?? trace.state}${trace.dry_run ? ' (dry run)' : ''}`,
          dur !== null && dur !== undefined ? ` — ${(dur * 1000).toFixed(1)} ms` : '', t.error || trace.error ? h('span', { class: 'error' }, ` — ${t.error || trace.error}`) : ''),
        h('div', { class: 'hint' }, `trigger: ${trace.trigger?.description ?? JSON.stringify(trace.trigger ?? t.trigger ?? '')}`),
        h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Step'), h('th', {}, 'Type'), h('th', {}, 'Time'), h('th', {}, 'Result'))),
          h('tbody', {}, steps.map((s) => h('tr', {},
            h('td', {}, s.path), h('td', {}, s.type),
            h('td', { class: 'step-duration' }, s.duration !== undefined ? `${(s.duration * 1000).toFixed(2)} ms` : '—'),
            h('td', { class: s.error ? 'error' : '' }, s.error || (s.result !== undefined ? JSON.stringify(s.result).slice(0, 200) : '')))))));
    })));
  }

  draw_simulate(body, a) {
    const input = h('input', { id: 'simulate-file', class: 'grow', placeholder: '/path/to/recordings/sample.mkv', 'aria-label': 'Sample file path', value: sessionStorage.getItem('so-sim-file') || '' });
    const skip = h('input', { type: 'checkbox', id: 'simulate-skip' });
    const out = h('div', { id: 'simulate-result' });
    const run = async () => {
      sessionStorage.setItem('so-sim-file', input.value);
      render(out, h('p', { class: 'muted' }, 'Simulating…'));
      try {
        const result = await this.hub.api('POST', `/api/automations/${encodeURIComponent(a.id)}/simulate`, {
          ...(input.value ? { file: input.value } : {}), skip_condition: skip.checked,
        });
        this.showPlan(out, result);
      } catch (err) {
        render(out, h('p', { class: 'error' }, err.message));
      }
    };
    render(body,
      h('p', { class: 'hint' }, 'A dry run: nothing is touched. The sample file stands in for a finished recording (a file_closed trigger).'),
      h('form', { class: 'row', onsubmit: (ev) => { ev.preventDefault(); run(); } },
        input, h('label', { class: 'row' }, skip, 'skip conditions'), h('button', { type: 'submit', class: 'primary', id: 'simulate-run' }, 'Simulate')),
      out);
  }

  showPlan(out, result) {
    const steps = result.plan || [];
    render(out,
      h('p', { class: result.ok ? 'ok' : 'warn', id: 'simulate-verdict' },
        result.ok ? `Would run ${steps.length} service call(s).` : `State: ${result.state}${result.trace?.error ? ` — ${result.trace.error}` : ''}${result.trace?.stop_reason ? ` — ${result.trace.stop_reason}` : ''}`,
        result.missing_services?.length ? ` Missing services: ${result.missing_services.join(', ')}` : ''),
      h('ol', { class: 'plan', id: 'simulate-plan' }, steps.map((step) => {
        const name = step.domain && step.service ? `${step.domain}.${step.service}` : step.action || step.path;
        const data = step.service_data ?? step.data;
        const commands = commandsIn(step.result);
        return h('li', { class: 'plan-step' },
          h('strong', {}, name), step.error ? h('span', { class: 'error' }, ` — ${step.error}`) : '',
          data ? h('pre', {}, JSON.stringify(data, null, 2)) : null,
          commands.map((c) => h('pre', { class: 'command' }, `$ ${c}`)),
          !commands.length && step.result ? h('pre', { class: 'hint' }, JSON.stringify(step.result, null, 2)) : null);
      })));
  }
}

customElements.define('so-page-automations', AutomationsPage);
