// Jobs: the whole queue (the jobs card with filters and a bigger page), live.
import '../cards/jobs-card.js';
import { PageElement, h, render } from '../util.js';

class JobsPage extends PageElement {
  setup() {
    const select = h('select', { id: 'job-filter', 'aria-label': 'Show', onchange: () => this.show(select.value) },
      h('option', { value: '' }, 'All jobs'),
      h('option', { value: 'queued,running,paused' }, 'Active'),
      h('option', { value: 'error' }, 'Failed'),
      h('option', { value: 'done' }, 'Finished'));
    this.holder = h('div', {});
    render(this, h('div', { class: 'row' }, h('h1', { class: 'grow' }, 'Jobs'), select), this.holder);
    this.show('');
  }

  show(status) {
    const card = document.createElement('so-jobs-card');
    card.setConfig({ type: 'jobs', title: status ? `Jobs (${status})` : 'All jobs', limit: 100, ...(status ? { status } : {}) });
    card.hub = this.hub;
    card.classList.add('card');
    render(this.holder, card);
  }
}
customElements.define('so-page-jobs', JobsPage);
