// entities: a list of entities with their live state; switches get a toggle.
import { h, render, friendlyName, formatState } from '../util.js';
import { CardElement } from './index.js';

class EntitiesCard extends CardElement {
  setConfig(config) {
    if (!Array.isArray(config.entities) || !config.entities.length) throw new Error("entities card: 'entities:' must list entity ids");
    super.setConfig(config);
    this.rows = config.entities.map((e) => (typeof e === 'string' ? { entity: e } : e));
  }

  setup() {
    this.own(this.hub.watch(this.rows.map((r) => r.entity), () => this.update()));
    this.update();
  }

  update() {
    render(
      this,
      this.config.title ? h('div', { class: 'card-title' }, this.config.title) : null,
      h(
        'table',
        { class: 'entities' },
        h(
          'tbody',
          {},
          this.rows.map((row) => {
            const state = this.hub.state(row.entity);
            const domain = row.entity.split('.')[0];
            let value = h('span', { class: state ? '' : 'muted', dataset: { entity: row.entity } }, state ? formatState(state) : 'not available');
            if (state && (domain === 'switch' || domain === 'automation' || domain === 'input_boolean')) {
              value = h('label', { class: 'row' }, value, h('input', {
                type: 'checkbox',
                checked: state.state === 'on',
                'aria-label': `${friendlyName(state, row.entity)} on/off`,
                onchange: (ev) => this.hub.callService(domain, ev.target.checked ? 'turn_on' : 'turn_off', { entity_id: row.entity }).catch((err) => alert(err.message)),
              }));
            }
            return h('tr', {}, h('td', {}, row.name || friendlyName(state, row.entity)), h('td', { style: { textAlign: 'right' } }, value));
          }),
        ),
      ),
    );
  }
}
customElements.define('so-entities-card', EntitiesCard);
