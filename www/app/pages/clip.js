// Clip Assist: play a recording, see where things happened (waveform, scene cuts, OBS markers),
// mark in/out with `i`/`o`, and queue lossless clips (media.clip), batches of them, or vertical /
// square exports (media.social_export). Every export is a job whose progress shows live.
//
// The recording plays straight from the drive through GET /api/assets/{id}/file (HTTP Range), so
// seeking in a two-hour MOV does not download it.

import { formatBytes, formatDuration, h, PageElement, render, toast } from '../util.js';
import { debounce, fileUrl, formatClock } from '../lib/assets-api.js';
import { JobTracker } from '../lib/clip-jobs.js';
import { Timeline } from '../lib/clip-timeline.js';
import { ensureAssetStyles } from '../lib/assets-style.js';

function assetIdFromHash() {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const id = Number(params.get('asset'));
  return Number.isInteger(id) && id > 0 ? id : null;
}

function isTyping(target) {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
}

class ClipPage extends PageElement {
  setup() {
    ensureAssetStyles();
    this.classList.add('clip-page');
    this.asset = null;
    this.kinds = new Set();
    this.batch = [];
    this.inPoint = null;
    this.outPoint = null;

    this.picker = this.buildPicker();
    this.titleEl = h('span', { class: 'muted' });
    this.video = h('video', { controls: true, preload: 'metadata', playsinline: true, 'aria-label': 'Recording' });
    this.canvas = h('canvas', { class: 'clip-timeline', 'aria-label': 'Timeline: click to seek, drag to select a range' });
    this.inOut = { in: h('output', { id: 'clip-in' }, '—'), out: h('output', { id: 'clip-out' }, '—'), len: h('output', {}, '—') };
    this.accurate = h('input', { type: 'checkbox', id: 'clip-accurate' });
    this.status = h('div', { class: 'clip-legend', 'aria-live': 'polite' });
    this.batchList = h('ul', { class: 'clip-list', 'aria-label': 'Batch ranges' });
    this.jobList = h('ul', { class: 'clip-list', 'aria-label': 'Export jobs' });
    this.exportButton = h('button', { type: 'button', class: 'primary', onclick: () => this.exportClip() }, 'Export clip (Enter)');
    this.batchButton = h('button', { type: 'button', onclick: () => this.exportBatch() }, 'Export batch');

    render(
      this,
      h('div', { class: 'clip-top' }, h('h1', {}, 'Clip Assist'), this.picker.el, this.titleEl),
      h(
        'div',
        { class: 'clip-main' },
        h(
          'section',
          { class: 'clip-player' },
          this.video,
          this.canvas,
          h(
            'div',
            { class: 'clip-legend' },
            h('span', {}, h('i', { style: { background: '#4c8dff' } }), 'waveform'),
            h('span', {}, h('i', { style: { background: '#d29922' } }), 'scene cut'),
            h('span', {}, h('i', { style: { background: '#ff4d4d' } }), 'OBS marker'),
            h('span', {}, h('i', { style: { background: 'rgba(63,185,80,.6)' } }), 'batch'),
          ),
          this.status,
          h(
            'div',
            { class: 'clip-range' },
            h('button', { type: 'button', onclick: () => this.markIn() }, 'In (i)'),
            this.inOut.in,
            h('button', { type: 'button', onclick: () => this.markOut() }, 'Out (o)'),
            this.inOut.out,
            h('span', { class: 'muted' }, 'length'),
            this.inOut.len,
            h('label', { title: 'Re-encode for frame-exact cuts (slower); lossless clips snap to keyframes' }, this.accurate, ' frame-exact'),
          ),
          h(
            'div',
            { class: 'clip-range' },
            this.exportButton,
            h('button', { type: 'button', onclick: () => this.addToBatch() }, 'Add to batch (a)'),
            this.batchButton,
            h('button', { type: 'button', onclick: () => this.social('9:16') }, 'Export 9:16'),
            h('button', { type: 'button', onclick: () => this.social('1:1') }, 'Export 1:1'),
          ),
          h(
            'p',
            { class: 'clip-keys' },
            h('kbd', {}, 'i'), '/', h('kbd', {}, 'o'), ' in/out · ', h('kbd', {}, 'Space'), ' play · ',
            h('kbd', {}, '←'), h('kbd', {}, '→'), ' 1 s (Shift 5 s) · ', h('kbd', {}, ','), h('kbd', {}, '.'), ' frame · ',
            h('kbd', {}, 'n'), '/', h('kbd', {}, 'p'), ' next/previous cut or marker · ', h('kbd', {}, 'a'), ' add to batch · ',
            h('kbd', {}, 'Enter'), ' export · ', h('kbd', {}, 'x'), ' clear',
          ),
        ),
        h(
          'aside',
          { class: 'clip-side' },
          h('h2', {}, 'Batch'),
          this.batchList,
          h('h2', {}, 'Exports'),
          this.jobList,
        ),
      ),
    );

    this.timeline = new Timeline(this.canvas, {
      onSeek: (t) => this.seek(t),
      onRange: (a, b) => {
        this.inPoint = a;
        this.outPoint = b;
        this.showRange();
      },
    });
    this.own(() => this.timeline.destroy());
    this.jobs = new JobTracker(this.hub, this.jobList);
    this.own(() => this.jobs.destroy());

    const tick = () => {
      this.timeline.set({ playhead: this.video.currentTime || 0 });
      if (!this.video.paused) this._raf = requestAnimationFrame(tick);
    };
    this.video.addEventListener('play', () => { this._raf = requestAnimationFrame(tick); });
    this.video.addEventListener('seeked', tick);
    this.video.addEventListener('timeupdate', tick);
    this.video.addEventListener('loadedmetadata', () => {
      if (Number.isFinite(this.video.duration) && this.video.duration > 0 && !this.asset?.duration) {
        this.timeline.set({ duration: this.video.duration });
      }
      this.dataset.ready = 'true';
    });
    this.video.addEventListener('error', () => {
      this.setStatus(`The browser cannot play this file (${this.asset?.video_codec || 'unknown codec'}); clips still export.`);
      this.dataset.ready = 'true';
    });
    this.own(() => cancelAnimationFrame(this._raf));
    this.own(() => {
      this.video.pause();
      this.video.removeAttribute('src');
      this.video.load();
    });

    const onKey = (ev) => this.onKey(ev);
    window.addEventListener('keydown', onKey);
    this.own(() => window.removeEventListener('keydown', onKey));
    const onHash = () => {
      const id = assetIdFromHash();
      if (location.hash.startsWith('#/clip') && id && id !== this.asset?.id) this.load(id);
    };
    window.addEventListener('hashchange', onHash);
    this.own(() => window.removeEventListener('hashchange', onHash));

    const id = assetIdFromHash();
    if (id) this.load(id);
    else this.setStatus('Pick a recording above (type three letters), or open one from Assets.');
  }

  // -- picking a recording ------------------------------------------------------------------------
  buildPicker() {
    const input = h('input', { type: 'search', placeholder: 'Find a recording…', 'aria-label': 'Find a recording', autocomplete: 'off' });
    const list = h('ul', { role: 'listbox', hidden: true });
    const el = h('div', { class: 'clip-picker' }, input, list);
    let generation = 0;
    const lookup = debounce(async () => {
      const q = input.value.trim();
      const mine = ++generation;
      if (!q) {
        list.hidden = true;
        return;
      }
      try {
        const answer = await this.hub.api('GET', `/api/assets?${new URLSearchParams({ q, limit: 10 })}`);
        if (mine !== generation) return;
        render(
          list,
          answer.items.length
            ? answer.items.map((a) =>
                h('li', { role: 'option', dataset: { id: a.id }, title: a.path, onclick: () => choose(a.id) }, `${a.name} · ${formatDuration(a.duration)}`),
              )
            : h('li', {}, 'No match'),
        );
        list.hidden = false;
      } catch (err) {
        render(list, h('li', { class: 'error' }, err.message));
        list.hidden = false;
      }
    }, 120);
    const choose = (id) => {
      list.hidden = true;
      input.value = '';
      input.blur();
      location.hash = `#/clip?asset=${id}`;
    };
    input.addEventListener('input', lookup);
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        const first = list.querySelector('li[data-id]');
        if (first) choose(Number(first.dataset.id));
      } else if (ev.key === 'Escape') {
        list.hidden = true;
        input.blur();
      }
    });
    this.own(() => lookup.cancel());
    return { el, input };
  }

  // -- loading a recording ------------------------------------------------------------------------
  async load(id) {
    this.dataset.ready = 'false';
    let asset;
    try {
      asset = await this.hub.api('GET', `/api/assets/${id}`);
    } catch (err) {
      this.setStatus(`Cannot open asset ${id}: ${err.message}`);
      return;
    }
    this.asset = asset;
    this.inPoint = null;
    this.outPoint = null;
    this.batch = [];
    this.renderBatch();
    this.showRange();
    this.titleEl.textContent = `${asset.name} · ${formatDuration(asset.duration)} · ${formatBytes(asset.size)}`;
    this.titleEl.title = asset.path;
    this.video.src = fileUrl(this.hub, id);
    this.timeline.set({ duration: asset.duration || 0, peaks: null, cuts: [], markers: [], batch: [], inPoint: null, outPoint: null, playhead: 0 });
    const answer = await this.hub.api('GET', `/api/assets/derivatives?ids=${id}`).catch(() => ({}));
    this.kinds = new Set(answer[String(id)] || []);
    await Promise.all([this.loadWaveform(), this.loadScenes(), this.loadMarkers()]);
    this.describe();
  }

  async loadWaveform() {
    if (!this.kinds.has('waveform')) return;
    try {
      const wave = await this.hub.api('GET', `/api/assets/${this.asset.id}/derivatives/waveform`);
      this.timeline.set({ peaks: wave.peaks, waveDuration: wave.duration });
    } catch (err) {
      toast(`Waveform: ${err.message}`, 'error');
    }
  }

  async loadScenes() {
    if (!this.kinds.has('scenes')) return;
    try {
      const scenes = await this.hub.api('GET', `/api/assets/${this.asset.id}/derivatives/scenes`);
      this.timeline.set({ cuts: scenes.cuts || [] });
      this.cuts = scenes.cuts || [];
    } catch (err) {
      toast(`Scenes: ${err.message}`, 'error');
    }
  }

  async loadMarkers() {
    try {
      const answer = await this.hub.api('GET', `/api/assets/${this.asset.id}/markers`);
      this.markers = answer.markers || [];
      this.timeline.set({ markers: this.markers });
    } catch {
      this.markers = [];
    }
  }

  describe() {
    const parts = [];
    const asset = this.asset;
    if (!this.kinds.has('waveform')) {
      parts.push(h('button', { type: 'button', onclick: () => this.makeDerivative('waveform') }, 'Make waveform'));
    }
    if (!this.kinds.has('scenes')) {
      parts.push(h('button', { type: 'button', onclick: () => this.detectScenes() }, 'Detect scene cuts'));
    } else {
      parts.push(h('span', {}, `${(this.cuts || []).length} scene cuts`));
    }
    parts.push(h('span', {}, `${(this.markers || []).length} OBS markers`));
    render(this.status, parts);
    this.status.dataset.asset = String(asset.id);
  }

  setStatus(text) {
    render(this.status, h('span', {}, text));
  }

  async makeDerivative(kind) {
    try {
      const res = await this.hub.callService('media', kind, { input: this.asset.path, wait: false }, { returnResponse: true });
      const assetId = this.asset.id;
      this.jobs.track(res.job_id, kind, {
        onDone: async (job) => {
          if (job.status !== 'done' || this.asset?.id !== assetId) return;
          this.kinds.add(kind);
          await this.loadWaveform();
          this.describe();
        },
      });
    } catch (err) {
      toast(`${kind}: ${err.message}`, 'error');
    }
  }

  async detectScenes() {
    try {
      const res = await this.hub.api('POST', `/api/assets/${this.asset.id}/scenes`);
      const assetId = this.asset.id;
      this.jobs.track(res.job_id, 'scene cuts', {
        onDone: async (job) => {
          if (job.status !== 'done' || this.asset?.id !== assetId) return;
          this.kinds.add('scenes');
          await this.loadScenes();
          this.describe();
        },
      });
    } catch (err) {
      toast(`Scene detection: ${err.message}`, 'error');
    }
  }

  // -- in/out and exports -------------------------------------------------------------------------
  seek(t) {
    if (!Number.isFinite(t)) return;
    this.video.currentTime = Math.max(0, Math.min(t, this.duration()));
    this.timeline.set({ playhead: this.video.currentTime });
  }

  duration() {
    return this.asset?.duration || this.video.duration || 0;
  }

  markIn() {
    if (!this.asset) return;
    this.inPoint = this.video.currentTime || 0;
    if (this.outPoint !== null && this.outPoint <= this.inPoint) this.outPoint = null;
    this.showRange();
  }

  markOut() {
    if (!this.asset) return;
    this.outPoint = this.video.currentTime || 0;
    if (this.inPoint !== null && this.inPoint >= this.outPoint) this.inPoint = null;
    this.showRange();
  }

  showRange() {
    this.inOut.in.textContent = this.inPoint === null ? '—' : formatClock(this.inPoint);
    this.inOut.out.textContent = this.outPoint === null ? '—' : formatClock(this.outPoint);
    const range = this.range();
    this.inOut.len.textContent = range ? formatClock(range.end - range.start) : '—';
    this.inOut.in.dataset.seconds = this.inPoint ?? '';
    this.inOut.out.dataset.seconds = this.outPoint ?? '';
    this.timeline.set({ inPoint: this.inPoint, outPoint: this.outPoint });
  }

  /** The range to export: in/out (a missing end is the recording's start/end), or null. */
  range() {
    if (!this.asset || (this.inPoint === null && this.outPoint === null)) return null;
    const start = this.inPoint ?? 0;
    const end = this.outPoint ?? this.duration();
    return end > start ? { start: Math.round(start * 1000) / 1000, end: Math.round(end * 1000) / 1000 } : null;
  }

  addToBatch() {
    const range = this.range();
    if (!range) {
      toast('Set in (i) and out (o) first', 'error');
      return;
    }
    this.batch.push(range);
    this.inPoint = null;
    this.outPoint = null;
    this.showRange();
    this.renderBatch();
  }

  renderBatch() {
    render(
      this.batchList,
      this.batch.length
        ? this.batch.map((r, i) =>
            h(
              'li',
              {},
              `${formatClock(r.start)} → ${formatClock(r.end)} `,
              h('button', { type: 'button', class: 'fav', 'aria-label': 'Remove range', onclick: () => { this.batch.splice(i, 1); this.renderBatch(); } }, '×'),
            ),
          )
        : h('li', { class: 'muted' }, 'Press a to add the in/out range'),
    );
    this.batchButton.textContent = `Export batch (${this.batch.length})`;
    this.batchButton.disabled = !this.batch.length;
    this.timeline.set({ batch: this.batch });
  }

  async queueClip(range) {
    const accurate = this.accurate.checked;
    const res = await this.hub.callService(
      'media',
      'clip',
      { input: this.asset.path, start: range.start, end: range.end, accurate, wait: false },
      { returnResponse: true },
    );
    this.jobs.track(res.job_id, `clip ${formatClock(range.start)}–${formatClock(range.end)}${accurate ? ' (exact)' : ''}`, { output: res.output });
    return res;
  }

  async exportClip() {
    const range = this.range();
    if (!range) {
      toast('Set in (i) and out (o) first', 'error');
      return;
    }
    try {
      await this.queueClip(range);
    } catch (err) {
      toast(`Clip not queued: ${err.message}`, 'error');
    }
  }

  async exportBatch() {
    const ranges = this.batch.splice(0);
    this.renderBatch();
    const results = await Promise.allSettled(ranges.map((r) => this.queueClip(r)));
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length) toast(`${failed.length} of ${ranges.length} clips not queued: ${failed[0].reason.message}`, 'error');
  }

  async social(aspect) {
    if (!this.asset) return;
    const range = this.range() || {};
    try {
      const res = await this.hub.callService(
        'media',
        'social_export',
        { input: this.asset.path, aspect, ...range, wait: false },
        { returnResponse: true },
      );
      const span = range.start !== undefined ? ` ${formatClock(range.start)}–${formatClock(range.end)}` : '';
      this.jobs.track(res.job_id, `${aspect}${span}`, { output: res.output });
    } catch (err) {
      toast(`${aspect} export not queued: ${err.message}`, 'error');
    }
  }

  jump(direction) {
    const points = [...(this.cuts || []), ...(this.markers || []).map((m) => m.offset)].sort((a, b) => a - b);
    const now = this.video.currentTime || 0;
    const target = direction > 0 ? points.find((t) => t > now + 0.05) : [...points].reverse().find((t) => t < now - 0.05);
    if (target !== undefined) this.seek(target);
  }

  onKey(ev) {
    if (!this.asset || isTyping(ev.target) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const fps = this.asset.fps || 30;
    const actions = {
      i: () => this.markIn(),
      o: () => this.markOut(),
      a: () => this.addToBatch(),
      x: () => {
        this.inPoint = null;
        this.outPoint = null;
        this.showRange();
      },
      n: () => this.jump(1),
      p: () => this.jump(-1),
      Enter: () => this.exportClip(),
      ArrowLeft: () => this.seek(this.video.currentTime - (ev.shiftKey ? 5 : 1)),
      ArrowRight: () => this.seek(this.video.currentTime + (ev.shiftKey ? 5 : 1)),
      ',': () => this.seek(this.video.currentTime - 1 / fps),
      '.': () => this.seek(this.video.currentTime + 1 / fps),
      ' ': () => (this.video.paused ? this.video.play().catch(() => {}) : this.video.pause()),
    };
    const action = actions[ev.key];
    if (!action) return;
    if (ev.target === this.video && (ev.key === ' ' || ev.key.startsWith('Arrow'))) return; // native controls
    if (ev.target instanceof HTMLButtonElement && (ev.key === 'Enter' || ev.key === ' ')) return;
    ev.preventDefault();
    action();
  }
}

customElements.define('so-page-clip', ClipPage);
