// The asset index as the pages see it: paged search results with a cache, URLs of an asset's file
// and derivatives (served with HTTP Range by streamops/assets/media_routes.py), and favourites.
//
// Every URL goes under /api/, where the hub's middleware accepts the HttpOnly session cookie, so a
// <video src> or a CSS background loads with the same login as the page — no token in JavaScript.

export const PAGE_SIZE = 120;
export const FAVOURITE = 'favourite';

export function fileUrl(hub, id) {
  return `${hub.base || ''}/api/assets/${id}/file`;
}

export function derivativeUrl(hub, id, kind, query = '') {
  return `${hub.base || ''}/api/assets/${id}/derivatives/${kind}${query}`;
}

export function hasTag(asset, tag) {
  return Array.isArray(asset?.tags) && asset.tags.includes(tag);
}

/** Query-string for GET /api/assets from a filter object (empty values dropped). */
export function searchParams(filters, extra = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...filters, ...extra })) {
    if (value === undefined || value === null || String(value).trim() === '') continue;
    params.set(key, String(value).trim());
  }
  return params.toString();
}

/**
 * One search (a set of filters) read page by page as the grid needs it. The hub caps the count of
 * a broad search at 10,000 (`total_capped`); then the known length grows while the user scrolls,
 * so the scrollbar never promises rows that are not there.
 */
export class AssetResults {
  constructor(hub, filters, { pageSize = PAGE_SIZE, onChange = () => {} } = {}) {
    this.hub = hub;
    this.filters = filters;
    this.pageSize = pageSize;
    this.onChange = onChange;
    this.total = 0;
    this.capped = false;
    this.pages = new Map(); // page number → array of assets
    this.loading = new Map(); // page number → promise
    this.derivatives = new Map(); // asset id → Set of kinds
    this.error = null;
    this.closed = false;
  }

  close() {
    this.closed = true;
  }

  get length() {
    return this.total;
  }

  /** The asset at an index, or undefined while its page loads (call ensure()). */
  at(index) {
    const page = this.pages.get(Math.floor(index / this.pageSize));
    return page ? page[index % this.pageSize] : undefined;
  }

  /** Load the pages covering [first, last] (at most a few requests; repeated calls are free). */
  ensure(first, last) {
    const pages = [];
    for (let p = Math.floor(Math.max(0, first) / this.pageSize); p <= Math.floor(Math.max(0, last) / this.pageSize); p++) {
      pages.push(this.load(p));
    }
    return Promise.all(pages);
  }

  load(page) {
    if (this.pages.has(page)) return Promise.resolve(this.pages.get(page));
    if (this.loading.has(page)) return this.loading.get(page);
    const query = searchParams(this.filters, { limit: this.pageSize, offset: page * this.pageSize });
    const promise = this.hub
      .api('GET', `/api/assets?${query}`)
      .then(async (answer) => {
        if (this.closed) return [];
        const items = answer.items || [];
        this.pages.set(page, items);
        const end = page * this.pageSize + items.length;
        this.capped = Boolean(answer.total_capped);
        if (page === 0) this.total = answer.total;
        if (items.length < this.pageSize) this.total = end; // the true end of the results
        else if (this.capped) this.total = Math.max(this.total, end + this.pageSize); // a capped count is a floor
        await this.loadDerivatives(items);
        this.error = null;
        if (!this.closed) this.onChange();
        return items;
      })
      .catch((err) => {
        this.error = err;
        if (!this.closed) this.onChange();
        return [];
      })
      .finally(() => this.loading.delete(page));
    this.loading.set(page, promise);
    return promise;
  }

  async loadDerivatives(items) {
    const ids = items.map((a) => a.id).filter((id) => !this.derivatives.has(id));
    if (!ids.length) return;
    const answer = await this.hub.api('GET', `/api/assets/derivatives?ids=${ids.join(',')}`);
    for (const id of ids) this.derivatives.set(id, new Set(answer[String(id)] || []));
  }

  kinds(id) {
    return this.derivatives.get(id) || new Set();
  }

  /** Replace one asset in the cache (after tagging) without reloading the page it is on. */
  replace(asset) {
    for (const items of this.pages.values()) {
      const i = items.findIndex((a) => a.id === asset.id);
      if (i >= 0) items[i] = { ...items[i], ...asset };
    }
  }
}

/** Add or remove the favourite tag; resolves with the updated asset row. */
export async function toggleFavourite(hub, asset) {
  const change = hasTag(asset, FAVOURITE) ? { remove: [FAVOURITE] } : { add: [FAVOURITE] };
  return hub.callService('assets', 'tag', { id: asset.id, ...change }, { returnResponse: true });
}

/** A debounced function: runs `fn` once, `wait` ms after the last call. */
export function debounce(fn, wait) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}

export function formatClock(seconds) {
  const s = Math.max(0, Number(seconds) || 0);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = (s % 60).toFixed(1).padStart(4, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
