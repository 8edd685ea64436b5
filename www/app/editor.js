// <so-yaml-editor>: a plain textarea with a line-number gutter that marks lines with errors.
// Errors come from the hub ({line, message}); clicking one moves the cursor to its line.
import { h, render } from './util.js';

class YamlEditor extends HTMLElement {
  constructor() {
    super();
    this.errors = [];
    this.gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
    this.area = h('textarea', { class: 'code', spellcheck: false, 'aria-label': this.getAttribute('label') || 'YAML', wrap: 'off' });
    this.list = h('ul', { class: 'errors', role: 'alert' });
    this.area.addEventListener('input', () => this.paint());
    this.area.addEventListener('keydown', (ev) => {
      if (ev.key === 'Tab' && !ev.shiftKey && !ev.ctrlKey && !ev.altKey) {
        // Two spaces (YAML has no tabs); Esc then Tab leaves the field for keyboard users.
        if (this._escaped) return;
        ev.preventDefault();
        this.area.setRangeText('  ', this.area.selectionStart, this.area.selectionEnd, 'end');
        this.paint();
      }
      this._escaped = ev.key === 'Escape';
    });
  }

  connectedCallback() {
    if (!this.firstChild) render(this, h('div', { class: 'editor' }, this.gutter, this.area), this.list);
    this.paint();
  }

  get value() {
    return this.area.value;
  }

  set value(text) {
    this.area.value = text;
    this.setErrors([]);
  }

  setErrors(errors) {
    this.errors = errors || [];
    render(
      this.list,
      this.errors.map((e) =>
        h('li', { dataset: { line: e.line ?? '' } }, e.line ? h('button', { type: 'button', onclick: () => this.goto(e.line) }, `line ${e.line}`) : null, e.line ? ': ' : '', e.message),
      ),
    );
    this.paint();
  }

  goto(line) {
    const lines = this.area.value.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    this.area.focus();
    this.area.setSelectionRange(start, start + (lines[line - 1] || '').length);
  }

  paint() {
    const count = this.area.value.split('\n').length;
    this.area.rows = Math.max(12, count + 1);
    const bad = new Map(this.errors.filter((e) => e.line).map((e) => [e.line, e.message]));
    const nums = [];
    for (let i = 1; i <= count; i++) {
      nums.push(bad.has(i) ? h('span', { class: 'bad', title: bad.get(i), dataset: { errorLine: i } }, String(i)) : String(i), '\n');
    }
    render(this.gutter, nums);
  }
}
customElements.define('so-yaml-editor', YamlEditor);
