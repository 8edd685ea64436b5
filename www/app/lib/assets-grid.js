// A virtualised grid: only the rows in view (plus a little overscan) exist in the DOM, so 100,000
// assets scroll as smoothly as 100. The scroller holds one tall "sizer" whose height is rows × row
// height; tiles are absolutely positioned inside it and recycled by index as the view moves.

export class VirtualGrid {
  /**
   * @param {HTMLElement} scroller an element with a fixed height and overflow:auto
   * @param {object} opts {minTileWidth, tileHeight(width) → px, gap, overscan, count() → n,
   *   renderTile(index, width, height) → Element|null, onRange(first, last)}
   */
  constructor(scroller, opts) {
    this.scroller = scroller;
    this.opts = { minTileWidth: 220, gap: 10, overscan: 2, ...opts };
    this.sizer = document.createElement('div');
    this.sizer.className = 'vgrid-sizer';
    this.sizer.style.position = 'relative';
    scroller.replaceChildren(this.sizer);
    this.tiles = new Map(); // index → element
    this.columns = 1;
    this.tileWidth = this.opts.minTileWidth;
    this.rowHeight = 100;
    this._frame = 0;
    this._onScroll = () => this.schedule();
    scroller.addEventListener('scroll', this._onScroll, { passive: true });
    this._resize = new ResizeObserver(() => this.schedule(true));
    this._resize.observe(scroller);
  }

  destroy() {
    cancelAnimationFrame(this._frame);
    this.scroller.removeEventListener('scroll', this._onScroll);
    this._resize.disconnect();
    this.tiles.clear();
  }

  /** Re-render on the next frame (`relayout` also drops tiles, e.g. after a resize or new data). */
  schedule(relayout = false) {
    if (relayout) this._relayout = true;
    if (this._frame) return;
    this._frame = requestAnimationFrame(() => {
      this._frame = 0;
      this.update();
    });
  }

  /** Forget every tile (new results) and scroll back to the top. */
  reset() {
    this.scroller.scrollTop = 0;
    this._relayout = true;
    this.update();
  }

  /** The first and last index currently rendered. */
  get range() {
    return this._range || [0, -1];
  }

  update() {
    const { gap, minTileWidth, overscan } = this.opts;
    const width = this.scroller.clientWidth - gap;
    const columns = Math.max(1, Math.floor(width / (minTileWidth + gap)));
    const tileWidth = Math.floor(width / columns - gap);
    const tileHeight = Math.round(this.opts.tileHeight(tileWidth));
    if (columns !== this.columns || tileWidth !== this.tileWidth || this._relayout) {
      for (const el of this.tiles.values()) el.remove();
      this.tiles.clear();
      this._relayout = false;
    }
    this.columns = columns;
    this.tileWidth = tileWidth;
    this.rowHeight = tileHeight + gap;
    const count = this.opts.count();
    const rows = Math.ceil(count / columns);
    this.sizer.style.height = `${rows * this.rowHeight + gap}px`;
    const top = this.scroller.scrollTop;
    const firstRow = Math.max(0, Math.floor(top / this.rowHeight) - overscan);
    const lastRow = Math.min(rows - 1, Math.ceil((top + this.scroller.clientHeight) / this.rowHeight) + overscan);
    const first = firstRow * columns;
    const last = Math.min(count - 1, (lastRow + 1) * columns - 1);
    this._range = [first, last];
    for (const [index, el] of this.tiles) {
      if (index < first || index > last || el.dataset.placeholder === '1') {
        el.remove();
        this.tiles.delete(index);
      }
    }
    for (let index = first; index <= last; index++) {
      if (this.tiles.has(index)) continue;
      const el = this.opts.renderTile(index, tileWidth, tileHeight);
      if (!el) continue;
      const row = Math.floor(index / columns);
      const col = index % columns;
      el.style.position = 'absolute';
      el.style.width = `${tileWidth}px`;
      el.style.height = `${tileHeight}px`;
      el.style.transform = `translate(${gap + col * (tileWidth + gap)}px, ${gap + row * this.rowHeight}px)`;
      this.sizer.append(el);
      this.tiles.set(index, el);
    }
    if (last >= first) this.opts.onRange?.(first, last);
  }
}
