// Card factory: loads cards/<type>-card.js on demand and returns <so-<type>-card>.
import { h } from '../util.js';

const TYPE_RE = /^[a-z][a-z0-9_-]*$/;

export async function createCard(config, hub) {
  const type = config && typeof config === 'object' ? config.type : undefined;
  try {
    if (typeof type !== 'string' || !TYPE_RE.test(type)) {
      throw new Error(`a card needs a 'type:' (got ${JSON.stringify(type)})`);
    }
    const tag = `so-${type}-card`;
    if (!customElements.get(tag)) {
      try {
        await import(`./${type}-card.js`);
      } catch (err) {
        throw new Error(`unknown card type '${type}' (${err.message})`);
      }
    }
    const el = document.createElement(tag);
    el.setConfig(config);
    el.hub = hub;
    el.classList.add('card', 'so-card');
    if (config.wide) el.classList.add('wide');
    if (config.full) el.classList.add('full');
    return el;
  } catch (err) {
    return errorCard(err.message, config);
  }
}

export function errorCard(message, config) {
  return h(
    'div',
    { class: 'card so-card card-error', role: 'alert' },
    h('div', { class: 'card-title error' }, 'Card error'),
    h('p', { class: 'error' }, message),
    config ? h('pre', {}, JSON.stringify(config, null, 2)) : null,
  );
}

/** Base class for cards: `config` from setConfig, `hub` set afterwards; implement update(). */
export class CardElement extends HTMLElement {
  constructor() {
    super();
    this._cleanups = [];
    this._hub = null;
  }

  setConfig(config) {
    this.config = config;
  }

  set hub(hub) {
    this._hub = hub;
  }

  get hub() {
    return this._hub;
  }

  own(fn) {
    this._cleanups.push(fn);
  }

  connectedCallback() {
    Promise.resolve(this.setup?.()).catch((err) => {
      this.append(h('p', { class: 'error' }, err.message || String(err)));
    });
  }

  disconnectedCallback() {
    for (const fn of this._cleanups.splice(0)) fn();
  }

  title(fallback) {
    return this.config.title ?? fallback;
  }
}
