// The `assets` card: a compact search box and a grid of the newest (or matching) recordings.
//
//   - type: assets
//     title: Recent recordings   # optional
//     limit: 8                   # tiles shown (1..48)
//     tag: favourite             # optional: only assets with this tag
//
// Typing searches as you type; Enter opens the full Assets page with the query; a tile opens the
// recording in Clip Assist. New recordings appear as they are indexed.

import { formatDuration, h, render } from '../util.js';
import { debounce, derivativeUrl, searchParams } from '../lib/assets-api.js';
import { ensureAssetStyles } from '../lib/assets-style.js';

class AssetsCard extends HTMLElement {
  setConfig(config) {
    const limit = config.limit ?? 8;
    if (!Number.isInteger(limit) || limit < 1 || limit > 48) {
      throw new Error(`assets card: 'limit' must be a whole number from 1 to 48 (got ${JSON.stringify(config.limit)})`);
    }
    if (config.tag !== undefined && typeof config.tag !== 'string') throw new Error("assets card: 'tag' must be text");
    this.config = { title: 'Recent recordings', ...config, limit };
  }

  set hub(hub) {
    this._hub = hub;
  }

  get hub() {
    return this._hub;
  }

  connectedCallback() {
    ensureAssetStyles();
    this.classList.add('assets-card');
    this.input = h('input', {
      type: 'search',
      placeholder: 'Find a recording…',
      'aria-label': 'Search assets',
      oninput: () => this.queue(),
      onkeydown: (ev) => {
        if (ev.key === 'Enter') location.hash = `#/assets?${searchParams({ q: this.input.value })}`;
      },
    });
    this.grid = h('div', { class: 'assets-card-grid' });
    render(this, h('div', { class: 'card-title' }, this.config.title), this.input, this.grid);
    this.generation = 0;
    this.queue = debounce(() => this.load(), 150);
    this.refresh = debounce(() => {
      if (!this.input.value) this.load();
    }, 1500);
    this.unsub = this.hub.on('asset_indexed', () => this.refresh());
    this.load();
  }

  disconnectedCallback() {
    this.unsub?.();
    this.queue?.cancel();
    this.refresh?.cancel();
  }

  async load() {
    const mine = ++this.generation;
    try {
      const query = searchParams({ q: this.input.value, tag: this.config.tag, limit: this.config.limit });
      const answer = await this.hub.api('GET', `/api/assets?${query}`);
      const ids = answer.items.map((a) => a.id);
      const kinds = ids.length ? await this.hub.api('GET', `/api/assets/derivatives?ids=${ids.join(',')}`) : {};
      if (mine !== this.generation) return;
      render(
        this.grid,
        answer.items.length
          ? answer.items.map((a) =>
              h(
                'a',
                { class: 'asset-tile', href: `#/clip?asset=${a.id}`, title: a.path, dataset: { id: a.id }, style: { textDecoration: 'none', color: 'inherit' } },
                h(
                  'div',
                  { class: 'asset-thumb' },
                  (kinds[String(a.id)] || []).includes('thumb')
                    ? h('img', { src: derivativeUrl(this.hub, a.id, 'thumb'), alt: '', loading: 'lazy' })
                    : h('div', { class: 'asset-empty' }, 'no preview'),
                  a.duration ? h('span', { class: 'asset-dur' }, formatDuration(a.duration)) : null,
                ),
                h('div', { class: 'asset-meta' }, h('span', { class: 'asset-name' }, a.name)),
              ),
            )
          : h('p', { class: 'muted' }, this.input.value ? 'No match.' : 'No recordings indexed yet.'),
      );
    } catch (err) {
      if (mine === this.generation) render(this.grid, h('p', { class: 'error' }, err.message));
    }
  }
}

customElements.define('so-assets-card', AssetsCard);
