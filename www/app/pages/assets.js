// Assets: find any recording by typing three letters, filter it, scrub it, tag it, favourite it.
//
// The grid is virtualised (lib/assets-grid.js): only the visible rows exist, and results are read
// from GET /api/assets page by page as the view reaches them, so a 100,000-file index loads as fast
// as an empty one. Search runs as you type (debounced); a newer query always wins over a slower
// older answer.

import { formatBytes, formatDuration, formatTime, h, PageElement, render, toast } from '../util.js';
import {
  AssetResults,
  FAVOURITE,
  debounce,
  derivativeUrl,
  hasTag,
  toggleFavourite,
} from '../lib/assets-api.js';
import { VirtualGrid } from '../lib/assets-grid.js';
import { attachScrub } from '../lib/assets-scrub.js';
import { ensureAssetStyles } from '../lib/assets-style.js';

const CODECS = ['h264', 'hevc', 'av1', 'vp9', 'prores', 'dnxhd', 'aac', 'opus', 'mp3', 'pcm_s16le'];
const DURATIONS = {
  '': 'Any length',
  short: 'Under 1 min',
  medium: '1–15 min',
  long: 'Over 15 min',
};
const DURATION_FILTERS = {
  short: { max_duration: 60 },
  medium: { min_duration: 60, max_duration: 900 },
  long: { min_duration: 900 },
};
const SORTS = { recent: 'Newest', oldest: 'Oldest', name: 'Name', duration: 'Longest', size: 'Largest' };

function hashQuery() {
  const query = location.hash.split('?')[1] || '';
  return new URLSearchParams(query);
}

class AssetsPage extends PageElement {
  setup() {
    ensureAssetStyles();
    this.classList.add('assets-page');
    this.generation = 0;
    this.selected = null;
    const initial = hashQuery();

    this.search = h('input', {
      type: 'search',
      id: 'asset-search',
      placeholder: 'Search — 3 letters find a file  (/)',
      'aria-label': 'Search assets',
      autocomplete: 'off',
      value: initial.get('q') || '',
      oninput: () => this.queueSearch(),
    });
    this.drive = h('select', { 'aria-label': 'Drive', onchange: () => this.runSearch() }, h('option', { value: '' }, 'All drives'));
    for (const name of this.driveNames()) this.drive.append(h('option', { value: name }, name));
    this.codec = h(
      'select',
      { 'aria-label': 'Codec', onchange: () => this.runSearch() },
      h('option', { value: '' }, 'Any codec'),
      CODECS.map((c) => h('option', { value: c }, c)),
    );
    this.duration = h(
      'select',
      { 'aria-label': 'Duration', onchange: () => this.runSearch() },
      Object.entries(DURATIONS).map(([value, label]) => h('option', { value }, label)),
    );
    this.tag = h('input', {
      type: 'text',
      placeholder: 'Tag',
      'aria-label': 'Tag',
      size: 10,
      value: initial.get('tag') || '',
      oninput: () => this.queueSearch(),
    });
    this.since = h('input', { type: 'date', 'aria-label': 'Modified since', onchange: () => this.runSearch() });
    this.until = h('input', { type: 'date', 'aria-label': 'Modified before', onchange: () => this.runSearch() });
    this.favourites = h('input', { type: 'checkbox', onchange: () => this.runSearch() });
    this.sort = h(
      'select',
      { 'aria-label': 'Sort', onchange: () => this.runSearch() },
      Object.entries(SORTS).map(([value, label]) => h('option', { value }, label)),
    );
    this.count = h('span', { class: 'assets-count', 'aria-live': 'polite' });
    this.scroller = h('div', { class: 'assets-scroll', tabindex: '-1', role: 'grid', 'aria-label': 'Assets' });
    this.detail = h('aside', { class: 'asset-detail', hidden: true, 'aria-label': 'Asset details' });

    render(
      this,
      h('div', { class: 'assets-head' }, h('h1', {}, 'Assets'), this.count),
      h(
        'div',
        { class: 'assets-toolbar' },
        this.search,
        this.drive,
        this.codec,
        this.duration,
        this.tag,
        h('label', {}, 'From', this.since),
        h('label', {}, 'to', this.until),
        h('label', { title: `Only assets tagged '${FAVOURITE}'` }, this.favourites, '★ Favourites'),
        this.sort,
        h('button', { type: 'button', onclick: () => this.clearFilters() }, 'Clear'),
      ),
      h('div', { class: 'assets-body' }, this.scroller, this.detail),
    );

    this.grid = new VirtualGrid(this.scroller, {
      minTileWidth: 210,
      tileHeight: (w) => (w * 9) / 16 + 46,
      count: () => this.results?.length || 0,
      renderTile: (index) => this.renderTile(index),
      onRange: (first, last) => this.results?.ensure(first, last),
    });
    this.own(() => this.grid.destroy());
    this.queueSearch = debounce(() => this.runSearch(), 120);
    this.own(() => this.queueSearch.cancel());

    const onKey = (ev) => this.onKey(ev);
    window.addEventListener('keydown', onKey);
    this.own(() => window.removeEventListener('keydown', onKey));

    // New recordings appear without a reload (when the user is looking at the top of the list).
    const refresh = debounce(() => {
      if (this.scroller.scrollTop < 50) this.runSearch({ keepScroll: true });
    }, 1500);
    this.own(this.hub.on('asset_indexed', refresh));
    this.own(() => refresh.cancel());

    this.runSearch();
    requestAnimationFrame(() => this.search.focus());
  }

  disconnectedCallback() {
    this.results?.close();
    super.disconnectedCallback();
  }

  driveNames() {
    const names = [];
    for (const id of this.hub.states.keys()) {
      const m = id.match(/^sensor\.drive_(.+)_free$/);
      if (m) names.push(m[1]);
    }
    return names.sort();
  }

  filters() {
    const f = {
      q: this.search.value,
      drive: this.drive.value,
      codec: this.codec.value,
      tag: this.favourites.checked ? FAVOURITE : this.tag.value,
      since: this.since.value,
      until: this.until.value,
      sort: this.sort.value,
      ...(DURATION_FILTERS[this.duration.value] || {}),
    };
    return f;
  }

  clearFilters() {
    for (const el of [this.search, this.tag, this.since, this.until]) el.value = '';
    for (const el of [this.drive, this.codec, this.duration]) el.value = '';
    this.sort.value = 'recent';
    this.favourites.checked = false;
    this.runSearch();
    this.search.focus();
  }

  runSearch({ keepScroll = false } = {}) {
    this.queueSearch?.cancel();
    const generation = ++this.generation;
    this.results?.close();
    const results = new AssetResults(this.hub, this.filters(), {
      onChange: () => {
        if (generation !== this.generation) return;
        this.showCount();
        this.grid.update();
      },
    });
    this.results = results;
    this.count.textContent = 'Searching…';
    this.dataset.state = 'loading';
    results.load(0).then(() => {
      if (generation !== this.generation) return;
      this.dataset.state = 'ready';
      if (keepScroll) this.grid.schedule(true);
      else this.grid.reset();
      this.showCount();
    });
  }

  showCount() {
    const r = this.results;
    if (!r) return;
    if (r.error) {
      this.count.textContent = `Search failed: ${r.error.message}`;
      return;
    }
    const n = r.capped ? `${r.total.toLocaleString()}+` : r.total.toLocaleString();
    this.count.textContent = r.total === 1 ? '1 asset' : `${n} assets`;
    this.scroller.querySelector('.assets-empty')?.remove();
    if (r.total === 0) {
      this.scroller.firstElementChild.append(
        h('div', { class: 'assets-empty' }, this.search.value ? `Nothing matches “${this.search.value}”.` : 'No assets indexed yet.'),
      );
    }
  }

  renderTile(index) {
    const asset = this.results.at(index);
    if (!asset) return h('div', { class: 'asset-loading', dataset: { placeholder: '1' } });
    const kinds = this.results.kinds(asset.id);
    const thumb = h(
      'div',
      { class: 'asset-thumb', dataset: { assetId: asset.id } },
      kinds.has('thumb')
        ? h('img', { src: derivativeUrl(this.hub, asset.id, 'thumb'), alt: '', loading: 'lazy', decoding: 'async', draggable: false })
        : h('div', { class: 'asset-empty' }, asset.status === 'error' ? 'unreadable' : 'no preview'),
      asset.duration ? h('span', { class: 'asset-dur' }, formatDuration(asset.duration)) : null,
    );
    attachScrub(this.hub, thumb, asset, kinds);
    const fav = h(
      'button',
      {
        type: 'button',
        class: 'fav',
        title: 'Favourite (f)',
        'aria-label': `Favourite ${asset.name}`,
        'aria-pressed': String(hasTag(asset, FAVOURITE)),
        onclick: (ev) => {
          ev.stopPropagation();
          this.favourite(asset);
        },
      },
      '★',
    );
    const codec = [asset.video_codec, asset.height ? `${asset.height}p` : null].filter(Boolean).join(' ');
    const tile = h(
      'div',
      {
        class: `asset-tile${this.selected?.id === asset.id ? ' selected' : ''}`,
        role: 'gridcell',
        tabindex: '0',
        dataset: { id: asset.id, index },
        onclick: () => this.select(asset),
        ondblclick: () => {
          location.hash = `#/clip?asset=${asset.id}`;
        },
      },
      thumb,
      h('div', { class: 'asset-meta' }, h('span', { class: 'asset-name', title: asset.path }, asset.name), fav),
      h('div', { class: 'asset-sub' }, [asset.drive, codec, formatBytes(asset.size)].filter(Boolean).join(' · ')),
    );
    return tile;
  }

  async favourite(asset) {
    try {
      const updated = await toggleFavourite(this.hub, asset);
      this.results.replace(updated);
      if (this.selected?.id === asset.id) this.showDetail({ ...this.selected, ...updated });
      this.grid.schedule(true);
    } catch (err) {
      toast(`Could not change the favourite: ${err.message}`, 'error');
    }
  }

  select(asset) {
    this.selected = asset;
    for (const el of this.scroller.querySelectorAll('.asset-tile.selected')) el.classList.remove('selected');
    this.scroller.querySelector(`.asset-tile[data-id="${asset.id}"]`)?.classList.add('selected');
    this.showDetail(asset);
  }

  showDetail(asset) {
    this.selected = asset;
    this.detail.hidden = false;
    const tagInput = h('input', { type: 'text', placeholder: 'Add a tag', 'aria-label': 'Add a tag', size: 14 });
    const tag = async (change) => {
      try {
        const updated = await this.hub.callService('assets', 'tag', { id: asset.id, ...change }, { returnResponse: true });
        this.results.replace(updated);
        this.showDetail({ ...asset, ...updated });
        this.grid.schedule(true);
      } catch (err) {
        toast(`Tag not changed: ${err.message}`, 'error');
      }
    };
    const previews = async () => {
      const services = ['thumbnail', 'sprite', 'hover', 'waveform'];
      const settled = await Promise.allSettled(
        services.map((s) => this.hub.callService('media', s, { input: asset.path, wait: false }, { returnResponse: true })),
      );
      const failed = settled.filter((r) => r.status === 'rejected');
      if (failed.length) toast(`Previews: ${failed[0].reason.message}`, 'error');
      else toast(`Queued thumbnail, sprite, hover clip and waveform for ${asset.name}`, 'ok');
    };
    const resolution = asset.width ? `${asset.width}×${asset.height}${asset.fps ? ` @ ${Number(asset.fps).toFixed(2)}` : ''}` : '—';
    render(
      this.detail,
      h('h2', {}, asset.name),
      h(
        'dl',
        {},
        h('dt', {}, 'Path'), h('dd', {}, asset.path),
        h('dt', {}, 'Drive'), h('dd', {}, asset.drive || '—'),
        h('dt', {}, 'Length'), h('dd', {}, formatDuration(asset.duration)),
        h('dt', {}, 'Video'), h('dd', {}, `${asset.video_codec || '—'} ${resolution}`),
        h('dt', {}, 'Audio'), h('dd', {}, asset.audio_codec || '—'),
        h('dt', {}, 'Size'), h('dd', {}, formatBytes(asset.size)),
        h('dt', {}, 'Modified'), h('dd', {}, formatTime(asset.mtime)),
        asset.status === 'error' ? [h('dt', {}, 'Error'), h('dd', { class: 'error' }, asset.error || '')] : null,
      ),
      h(
        'div',
        { class: 'tag-chips', 'aria-label': 'Tags' },
        (asset.tags || []).map((t) =>
          h('span', { class: 'tag-chip' }, t, h('button', { type: 'button', 'aria-label': `Remove tag ${t}`, onclick: () => tag({ remove: [t] }) }, '×')),
        ),
      ),
      h(
        'form',
        {
          onsubmit: (ev) => {
            ev.preventDefault();
            if (tagInput.value.trim()) tag({ add: [tagInput.value.trim()] });
          },
        },
        tagInput,
        ' ',
        h('button', { type: 'submit' }, 'Add'),
      ),
      h(
        'div',
        { class: 'detail-actions' },
        h('a', { class: 'button primary', href: `#/clip?asset=${asset.id}` }, 'Open in Clip Assist'),
        h('button', { type: 'button', onclick: () => this.favourite(asset) }, hasTag(asset, FAVOURITE) ? '★ Unfavourite' : '☆ Favourite'),
        h('button', { type: 'button', onclick: previews, title: 'media.thumbnail, sprite, hover, waveform' }, 'Make previews'),
        h('button', { type: 'button', onclick: () => { this.detail.hidden = true; this.selected = null; } }, 'Close'),
      ),
    );
  }

  onKey(ev) {
    const inField = ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement || ev.target instanceof HTMLTextAreaElement;
    if (ev.key === '/' && !inField) {
      ev.preventDefault();
      this.search.focus();
      this.search.select();
      return;
    }
    if (inField || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const tile = document.activeElement?.closest?.('.asset-tile');
    if (!tile) return;
    const asset = this.results.at(Number(tile.dataset.index));
    if (!asset) return;
    if (ev.key === 'Enter') this.select(asset);
    else if (ev.key === 'f') this.favourite(asset);
    else if (ev.key === 'c') location.hash = `#/clip?asset=${asset.id}`;
    else if (['ArrowRight', 'ArrowLeft', 'ArrowDown', 'ArrowUp'].includes(ev.key)) {
      ev.preventDefault();
      const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: this.grid.columns, ArrowUp: -this.grid.columns }[ev.key];
      const next = Math.max(0, Math.min(this.results.length - 1, Number(tile.dataset.index) + step));
      const row = Math.floor(next / this.grid.columns);
      const top = row * this.grid.rowHeight;
      if (top < this.scroller.scrollTop || top + this.grid.rowHeight > this.scroller.scrollTop + this.scroller.clientHeight) {
        this.scroller.scrollTop = top - this.scroller.clientHeight / 2;
        this.grid.update();
      }
      this.scroller.querySelector(`.asset-tile[data-index="${next}"]`)?.focus();
    }
  }
}

customElements.define('so-page-assets', AssetsPage);
