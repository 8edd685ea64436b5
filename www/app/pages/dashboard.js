// Dashboard: the views and cards of dashboard.yaml, live; "Edit" opens the YAML editor, saved
// through PUT /api/dashboard (validated by the hub; errors shown at their line).
import { createCard } from '../cards/index.js';
import '../editor.js';
import { PageElement, h, render, toast } from '../util.js';

class DashboardPage extends PageElement {
  async setup() {
    await this.load();
    const saved = Number(sessionStorage.getItem('so-view') || 0);
    this.view = saved < (this.dashboard.views || []).length ? saved : 0;
    this.draw();
  }

  async load() {
    const data = await this.hub.api('GET', '/api/dashboard');
    this.dashboard = data.dashboard;
    this.yaml = data.yaml;
    this.fileErrors = data.errors || [];
  }

  async draw() {
    const views = this.dashboard.views || [];
    const view = views[this.view] || { cards: [] };
    const cards = h('div', { class: 'cards', id: 'cards' });
    render(
      this,
      h(
        'div',
        { class: 'row' },
        h('h1', { class: 'grow' }, this.dashboard.title || 'Dashboard'),
        h('button', { type: 'button', id: 'edit-dashboard', onclick: () => this.edit() }, 'Edit dashboard'),
      ),
      views.length > 1
        ? h(
            'div',
            { class: 'tabs', role: 'tablist' },
            views.map((v, i) =>
              h('button', {
                role: 'tab',
                'aria-selected': String(i === this.view),
                onclick: () => {
                  this.view = i;
                  sessionStorage.setItem('so-view', String(i));
                  this.draw();
                },
              }, v.title || `View ${i + 1}`),
            ),
          )
        : null,
      this.fileErrors.length
        ? h('p', { class: 'error' }, `dashboard.yaml has errors, showing the default: ${this.fileErrors.map((e) => e.text).join('; ')}`)
        : null,
      cards,
    );
    for (const config of view.cards || []) cards.append(await createCard(config, this.hub));
  }

  edit() {
    const editor = document.createElement('so-yaml-editor');
    editor.setAttribute('label', 'dashboard.yaml');
    const status = h('span', { class: 'muted', role: 'status' });
    const check = async () => {
      const result = await this.hub.api('POST', '/api/frontend/yaml', { text: editor.value, kind: 'dashboard' });
      editor.setErrors(result.errors);
      status.textContent = result.errors.length ? `${result.errors.length} error(s)` : 'valid';
      return !result.errors.length;
    };
    const save = async () => {
      try {
        await this.hub.api('PUT', '/api/dashboard', { yaml: editor.value });
        toast('Dashboard saved to dashboard.yaml', 'ok');
        await this.load();
        this.draw();
      } catch (err) {
        editor.setErrors(err.body?.details || [{ line: null, message: err.message }]);
        status.textContent = 'not saved';
      }
    };
    render(
      this,
      h('h1', {}, 'Edit dashboard.yaml'),
      h('p', { class: 'hint' }, 'views → cards; card types: entities, gauge, status, jobs, button, history, markdown, assets. The hub checks the file before it is written.'),
      editor,
      h('div', { class: 'row' },
        h('button', { type: 'button', onclick: check }, 'Check'),
        h('button', { type: 'button', class: 'primary', id: 'save-dashboard', onclick: save }, 'Save'),
        h('button', { type: 'button', onclick: () => this.draw() }, 'Cancel'),
        status),
    );
    editor.value = this.yaml;
    editor.area.focus();
  }
}

customElements.define('so-page-dashboard', DashboardPage);
