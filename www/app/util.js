// Small DOM and formatting helpers shared by pages and cards. Text always goes in as text nodes
// (never innerHTML), so nothing from the hub can inject markup.

/**
 * h('div', {class: 'x', onclick: fn, dataset: {id: 1}}, 'text', child, [more])
 * Props starting with "on" add listeners; `style` may be an object; false/null children are skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'style' && typeof value === 'object') Object.assign(el.style, value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function render(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function friendlyName(state, fallback) {
  return state?.attributes?.friendly_name || fallback || state?.entity_id || '';
}

export function formatState(state) {
  if (!state) return 'unknown';
  const unit = state.attributes?.unit_of_measurement;
  const num = Number(state.state);
  if (state.state !== '' && Number.isFinite(num)) {
    const shown = Number.isInteger(num) ? String(num) : num.toFixed(Math.abs(num) < 10 ? 2 : 1);
    return unit ? `${shown} ${unit}` : shown;
  }
  return unit && state.state !== 'unavailable' ? `${state.state} ${unit}` : String(state.state);
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return '—';
  let s = Math.max(0, Math.round(Number(seconds)));
  const hh = Math.floor(s / 3600);
  s -= hh * 3600;
  const mm = Math.floor(s / 60);
  s -= mm * 60;
  if (hh) return `${hh}h ${String(mm).padStart(2, '0')}m`;
  if (mm) return `${mm}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

export function formatTime(ts) {
  if (ts === null || ts === undefined || ts === '') return '—';
  const date = typeof ts === 'number' ? new Date(ts * 1000) : new Date(ts);
  if (Number.isNaN(date.getTime())) return String(ts);
  return date.toLocaleString();
}

export function formatBytes(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** Show a short message at the bottom of the screen (kind: 'info' | 'error' | 'ok'). */
export function toast(message, kind = 'info') {
  let box = document.getElementById('so-toasts');
  if (!box) {
    box = h('div', { id: 'so-toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const item = h('div', { class: `toast toast-${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

/** Copy text to the clipboard, falling back to a selected text field when the API is refused. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const field = h('textarea', { style: { position: 'fixed', opacity: '0' } }, text);
    document.body.append(field);
    field.select();
    const ok = document.execCommand('copy');
    field.remove();
    return ok;
  }
}

/** Base class for pages: `hub` is set before connectedCallback; subclasses implement render(). */
export class PageElement extends HTMLElement {
  constructor() {
    super();
    this._cleanups = [];
  }

  /** Register an unsubscribe/cleanup to run when the page is removed. */
  own(fn) {
    this._cleanups.push(fn);
    return fn;
  }

  connectedCallback() {
    this.classList.add('page');
    Promise.resolve(this.setup?.()).catch((err) => this.showError(err));
  }

  disconnectedCallback() {
    for (const fn of this._cleanups.splice(0)) {
      try {
        fn();
      } catch {
        /* already gone */
      }
    }
  }

  showError(err) {
    this.append(h('p', { class: 'error' }, `Error: ${err.message || err}`));
  }
}
