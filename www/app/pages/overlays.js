// Overlays: every overlay pack with its status, a live preview (the overlay's preview URL in an
// iframe) and the browser-source URL to copy into OBS.
import { PageElement, h, render, copyText, toast } from '../util.js';

class OverlaysPage extends PageElement {
  async setup() {
    let overlays;
    if (this.hub.config && !(this.hub.config.components || []).includes('overlays')) {
      render(this, h('h1', {}, 'Overlays'), h('p', { class: 'muted', id: 'overlays-missing' }, 'The overlays integration is not set up: add overlays: (directory: overlays) to configuration.yaml — docs/overlays.md.'));
      return;
    }
    try {
      overlays = await this.hub.api('GET', '/api/overlays');
    } catch (err) {
      render(this, h('h1', {}, 'Overlays'), h('p', { class: err.status === 404 ? 'muted' : 'error' }, err.status === 404 ? 'The overlays integration is not set up (add overlays: to configuration.yaml).' : err.message));
      return;
    }
    this.preview = h('div', { id: 'overlay-preview' });
    render(
      this,
      h('h1', {}, 'Overlays'),
      overlays.length
        ? h('div', { class: 'card' }, h('table', { id: 'overlay-list' },
            h('thead', {}, h('tr', {}, ['Overlay', 'Status', 'Canvas', 'Open pages', 'Browser source'].map((t) => h('th', {}, t)))),
            h('tbody', {}, overlays.map((o) => {
              const absolute = new URL(o.url, location.origin).href;
              return h('tr', { dataset: { overlay: o.name } },
                h('td', {}, h('strong', {}, o.title), h('div', { class: 'hint' }, o.name)),
                h('td', {}, o.error ? h('span', { class: 'badge bad', title: o.error }, 'error') : h('span', { class: `badge ${o.enabled ? 'ok' : ''}` }, o.enabled ? 'enabled' : 'disabled'),
                  o.error ? h('div', { class: 'error hint' }, o.error) : null, (o.warnings || []).map((w) => h('div', { class: 'warn hint' }, w))),
                h('td', {}, o.canvas ? `${o.canvas.width}×${o.canvas.height}` : '—'),
                h('td', {}, `${o.pages} (+${o.previews} previews)`),
                h('td', {}, h('div', { class: 'row' },
                  h('button', { type: 'button', class: 'primary', onclick: async () => toast((await copyText(absolute)) ? 'Browser-source URL copied' : 'Copy failed', 'ok') }, 'Copy URL'),
                  h('button', { type: 'button', dataset: { preview: o.name }, onclick: () => this.showPreview(o) }, 'Preview'),
                  h('a', { href: `/api/overlays/${encodeURIComponent(o.name)}/impressions.csv`, download: '' }, 'Impressions CSV'))));
            }))))
        : h('p', { class: 'muted' }, 'No overlays yet: put a pack in the overlays folder.'),
      this.preview,
    );
    if (overlays.length) this.showPreview(overlays[0]);
  }

  showPreview(o) {
    render(this.preview, h('h2', {}, `Preview: ${o.title}`),
      h('p', { class: 'hint' }, 'Preview mode: the page runs but logs no impressions.'),
      h('iframe', { class: 'preview', src: o.preview_url, title: `${o.title} preview`, sandbox: 'allow-scripts allow-same-origin' }));
  }
}
customElements.define('so-page-overlays', OverlaysPage);
