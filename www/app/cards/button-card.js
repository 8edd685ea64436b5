// button: call a service (optionally after a confirmation).
import { h, render, toast } from '../util.js';
import { CardElement } from './index.js';

class ButtonCard extends CardElement {
  setConfig(config) {
    if (!/^[a-z0-9_]+\.[a-z0-9_]+$/.test(config.service || '')) throw new Error("button card: 'service:' must look like domain.service");
    super.setConfig(config);
  }

  setup() {
    const [domain, service] = this.config.service.split('.');
    const button = h('button', {
      class: 'primary',
      type: 'button',
      onclick: async () => {
        if (this.config.confirm && !confirm(this.config.confirm)) return;
        button.disabled = true;
        try {
          await this.hub.callService(domain, service, this.config.data || {});
          toast(`${this.config.name}: done`, 'ok');
        } catch (err) {
          toast(`${this.config.name}: ${err.message}`, 'error');
        } finally {
          button.disabled = false;
        }
      },
    }, this.config.name);
    render(this, this.config.title ? h('div', { class: 'card-title' }, this.config.title) : null, button, h('div', { class: 'hint' }, this.config.service));
  }
}
customElements.define('so-button-card', ButtonCard);
