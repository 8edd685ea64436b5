// Dashboard: the views and cards of dashboard.yaml, live; "Edit" opens the YAML editor.
import { createCard } from '../cards/index.js';
import { PageElement, h, render } from '../util.js';

class DashboardPage extends PageElement {
  async setup() {
    const data = await this.hub.api('GET', '/api/dashboard');
    this.dashboard = data.dashboard;
    this.view = 0;
    this.draw();
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
        views.length > 1
          ? h(
              'div',
              { class: 'tabs', role: 'tablist' },
              views.map((v, i) =>
                h('button', { role: 'tab', 'aria-selected': String(i === this.view), onclick: () => { this.view = i; this.draw(); } }, v.title || `View ${i + 1}`),
              ),
            )
          : null,
      ),
      cards,
    );
    for (const config of view.cards || []) cards.append(await createCard(config, this.hub));
  }
}

customElements.define('so-page-dashboard', DashboardPage);
