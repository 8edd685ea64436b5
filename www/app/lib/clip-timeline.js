// Clip Assist's timeline: one canvas with the audio waveform (media.waveform peaks), scene cuts
// (media.scenes), OBS markers, the batch ranges, the current in/out range and the playhead.
// A click seeks; a drag selects a range (it becomes in/out).

const COLOURS = {
  wave: 'rgba(76, 141, 255, 0.75)',
  rms: 'rgba(76, 141, 255, 0.35)',
  cut: 'rgba(210, 153, 34, 0.9)',
  marker: '#ff4d4d',
  range: 'rgba(76, 141, 255, 0.22)',
  rangeEdge: '#4c8dff',
  batch: 'rgba(63, 185, 80, 0.20)',
  playhead: '#ffffff',
  axis: 'rgba(154, 163, 178, 0.6)',
};

export class Timeline {
  constructor(canvas, { onSeek = () => {}, onRange = () => {} } = {}) {
    this.canvas = canvas;
    this.onSeek = onSeek;
    this.onRange = onRange;
    this.duration = 0;
    this.peaks = null; // [[lo, hi], ...]
    this.rms = null;
    this.cuts = [];
    this.markers = [];
    this.batch = [];
    this.inPoint = null;
    this.outPoint = null;
    this.playhead = 0;
    this._drag = null;
    canvas.addEventListener('mousedown', (ev) => this._down(ev));
    this._move = (ev) => this._dragMove(ev);
    this._up = (ev) => this._dragEnd(ev);
    this._resize = new ResizeObserver(() => this.draw());
    this._resize.observe(canvas);
  }

  destroy() {
    this._resize.disconnect();
    window.removeEventListener('mousemove', this._move);
    window.removeEventListener('mouseup', this._up);
  }

  set(values) {
    Object.assign(this, values);
    this.draw();
  }

  timeAt(clientX) {
    const rect = this.canvas.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
    return f * this.duration;
  }

  _down(ev) {
    if (!this.duration || ev.button !== 0) return;
    this._drag = { x: ev.clientX, t: this.timeAt(ev.clientX), moved: false };
    window.addEventListener('mousemove', this._move);
    window.addEventListener('mouseup', this._up);
  }

  _dragMove(ev) {
    if (!this._drag) return;
    if (Math.abs(ev.clientX - this._drag.x) > 4) this._drag.moved = true;
    if (this._drag.moved) {
      const t = this.timeAt(ev.clientX);
      this.inPoint = Math.min(t, this._drag.t);
      this.outPoint = Math.max(t, this._drag.t);
      this.draw();
    }
  }

  _dragEnd(ev) {
    window.removeEventListener('mousemove', this._move);
    window.removeEventListener('mouseup', this._up);
    const drag = this._drag;
    this._drag = null;
    if (!drag) return;
    if (drag.moved) this.onRange(this.inPoint, this.outPoint);
    else this.onSeek(this.timeAt(ev.clientX));
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, width, height);
    if (!this.duration) return;
    const x = (t) => (t / this.duration) * width;
    const mid = height / 2;

    for (const r of this.batch) {
      ctx.fillStyle = COLOURS.batch;
      ctx.fillRect(x(r.start), 0, Math.max(1, x(r.end) - x(r.start)), height);
    }
    if (this.peaks?.length) {
      const n = this.peaks.length;
      const waveDuration = this.waveDuration || this.duration;
      const span = (waveDuration / this.duration) * width;
      ctx.fillStyle = COLOURS.wave;
      for (let px = 0; px < Math.min(width, span); px++) {
        const b0 = Math.floor((px / span) * n);
        const b1 = Math.max(b0 + 1, Math.floor(((px + 1) / span) * n));
        let lo = 0;
        let hi = 0;
        for (let b = b0; b < Math.min(b1, n); b++) {
          lo = Math.min(lo, this.peaks[b][0]);
          hi = Math.max(hi, this.peaks[b][1]);
        }
        const top = mid - hi * (mid - 4);
        const bottom = mid - lo * (mid - 4);
        ctx.fillRect(px, top, 1, Math.max(1, bottom - top));
      }
    } else {
      ctx.fillStyle = COLOURS.axis;
      ctx.fillRect(0, mid, width, 1);
    }
    if (this.inPoint !== null || this.outPoint !== null) {
      const a = this.inPoint ?? 0;
      const b = this.outPoint ?? this.duration;
      ctx.fillStyle = COLOURS.range;
      ctx.fillRect(x(a), 0, Math.max(1, x(b) - x(a)), height);
      ctx.fillStyle = COLOURS.rangeEdge;
      if (this.inPoint !== null) ctx.fillRect(x(a) - ratio, 0, 2 * ratio, height);
      if (this.outPoint !== null) ctx.fillRect(x(b) - ratio, 0, 2 * ratio, height);
    }
    ctx.fillStyle = COLOURS.cut;
    for (const t of this.cuts) ctx.fillRect(Math.round(x(t)), 0, Math.max(1, ratio), height);
    ctx.font = `${11 * ratio}px system-ui, sans-serif`;
    for (const m of this.markers) {
      const mx = x(m.offset);
      ctx.fillStyle = COLOURS.marker;
      ctx.beginPath();
      ctx.moveTo(mx - 5 * ratio, 0);
      ctx.lineTo(mx + 5 * ratio, 0);
      ctx.lineTo(mx, 9 * ratio);
      ctx.closePath();
      ctx.fill();
      ctx.fillRect(mx, 0, ratio, height);
      if (m.label) ctx.fillText(String(m.label).slice(0, 24), mx + 6 * ratio, 11 * ratio);
    }
    ctx.fillStyle = COLOURS.playhead;
    ctx.fillRect(x(this.playhead) - ratio / 2, 0, Math.max(1, ratio), height);
  }
}
