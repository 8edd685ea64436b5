// markdown: a small, safe subset (headings, paragraphs, lists, **bold**, *em*, `code`, links).
// Everything becomes DOM nodes built from text; raw HTML in the source shows as text.
import { h, render } from '../util.js';
import { CardElement } from './index.js';

function inline(text) {
  const out = [];
  const re = /(\*\*([^*]+)\*\*)|(\*([^*]+)\*)|(`([^`]+)`)|(\[([^\]]+)\]\(([^)\s]+)\))/g;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[2] !== undefined) out.push(h('strong', {}, m[2]));
    else if (m[4] !== undefined) out.push(h('em', {}, m[4]));
    else if (m[6] !== undefined) out.push(h('code', {}, m[6]));
    else {
      const url = m[9];
      const safe = /^(https?:|#\/|\/)/i.test(url) ? url : null; // no javascript: or data: links
      out.push(safe ? h('a', { href: safe, rel: 'noopener noreferrer', target: safe.startsWith('http') ? '_blank' : null }, m[8]) : m[8]);
    }
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function markdown(source) {
  const blocks = [];
  let list = null;
  let para = [];
  const flush = () => {
    if (para.length) blocks.push(h('p', {}, inline(para.join(' '))));
    para = [];
  };
  for (const raw of String(source).split('\n')) {
    const line = raw.trimEnd();
    const heading = line.match(/^(#{1,4})\s+(.*)$/);
    const item = line.match(/^\s*[-*]\s+(.*)$/);
    if (heading) {
      flush();
      list = null;
      blocks.push(h(`h${Math.min(6, heading[1].length + 2)}`, {}, inline(heading[2])));
    } else if (item) {
      flush();
      if (!list) {
        list = h('ul', {});
        blocks.push(list);
      }
      list.append(h('li', {}, inline(item[1])));
    } else if (!line.trim()) {
      flush();
      list = null;
    } else {
      list = null;
      para.push(line.trim());
    }
  }
  flush();
  return blocks;
}

class MarkdownCard extends CardElement {
  setConfig(config) {
    if (typeof config.content !== 'string') throw new Error("markdown card: 'content:' is required");
    super.setConfig(config);
  }

  setup() {
    render(this, this.config.title ? h('div', { class: 'card-title' }, this.config.title) : null, h('div', { class: 'md-body' }, markdown(this.config.content)));
  }
}
customElements.define('so-markdown-card', MarkdownCard);
