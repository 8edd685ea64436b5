// Drives & watch folders: free space per drive (live), "test path" (drives.probe), and the YAML
// for adding or changing a drive — drives are configured in configuration.yaml only (the drives
// integration reads them at start), so the page writes the snippet to paste rather than a setting.
import { PageElement, h, render, formatBytes, copyText, toast } from '../util.js';

const DRIVE_RE = /^sensor\.drive_(.+)_free$/;

function yamlQuote(text) {
  return /^[\w./:\\-]+$/.test(text) && !/^[\d.]+$/.test(text) ? text : JSON.stringify(text);
}

export function driveYaml(name, path, patterns, quiet) {
  const watch = patterns.split(',').map((s) => s.trim()).filter(Boolean);
  return [
    'drives:',
    `  ${name}:`,
    `    path: ${yamlQuote(path)}`,
    `    watch: [${watch.map((w) => JSON.stringify(w)).join(', ')}]`,
    `    min_quiet_seconds: ${quiet}`,
    '    poll: auto',
    '',
  ].join('\n');
}

class DrivesPage extends PageElement {
  setup() {
    this.table = h('div', { class: 'card', id: 'drive-list' });
    this.own(this.hub.watch(null, (changed) => {
      if (changed.some((id) => id.startsWith('sensor.drive_'))) this.drawDrives();
    }));
    const path = h('input', { id: 'probe-path', class: 'grow', placeholder: 'D:\\Recordings or /recordings', 'aria-label': 'Path to test' });
    const result = h('div', { id: 'probe-result' });
    const name = h('input', { id: 'drive-name', value: 'recordings', pattern: '[a-z0-9_]+', 'aria-label': 'Drive name' });
    const patterns = h('input', { id: 'drive-watch', value: '**/*.mkv, **/*.mp4, **/*.mov', class: 'grow', 'aria-label': 'Watch patterns' });
    const quiet = h('input', { id: 'drive-quiet', type: 'number', min: 1, value: 10, style: { width: '80px' }, 'aria-label': 'Quiet seconds' });
    const snippet = h('pre', { id: 'drive-yaml' });
    const updateSnippet = () => {
      snippet.textContent = driveYaml(name.value || 'recordings', path.value || '/path/to/folder', patterns.value, quiet.value || 10);
    };
    for (const el of [name, patterns, quiet, path]) el.addEventListener('input', updateSnippet);
    updateSnippet();
    const probe = async () => {
      render(result, h('p', { class: 'muted' }, 'Testing…'));
      try {
        const r = await this.hub.callService('drives', 'probe', { path: path.value }, { returnResponse: true });
        render(result, h('table', {}, h('tbody', {}, Object.entries(r).map(([k, v]) =>
          h('tr', {}, h('th', {}, k), h('td', { class: v === false ? 'warn' : '' }, /free|total|bytes/.test(k) && typeof v === 'number' ? `${formatBytes(v)} (${v})` : JSON.stringify(v)))))));
      } catch (err) {
        render(result, h('p', { class: 'error' }, err.message));
      }
    };
    render(
      this,
      h('h1', {}, 'Drives & watch folders'),
      this.table,
      h('h2', {}, 'Test a path'),
      h('form', { class: 'row', onsubmit: (ev) => { ev.preventDefault(); probe(); } }, path, h('button', { type: 'submit', class: 'primary', id: 'probe-run' }, 'Test path')),
      result,
      h('h2', {}, 'Add or change a drive'),
      h('p', { class: 'hint' }, 'Drives live in configuration.yaml (YAML only): paste this under the drives: section and restart, or run `streamops check-config` first. In the container, the path is the mount point inside it (see the docker run generator in Settings).'),
      h('div', { class: 'row' }, h('label', { for: 'drive-name' }, 'Name'), name, h('label', { for: 'drive-watch' }, 'Watch'), patterns, h('label', { for: 'drive-quiet' }, 'Quiet s'), quiet),
      snippet,
      h('button', { type: 'button', onclick: async () => toast((await copyText(snippet.textContent)) ? 'YAML copied' : 'Copy failed', 'ok') }, 'Copy YAML'),
    );
    this.drawDrives();
  }

  drawDrives() {
    const names = [...this.hub.states.keys()].map((id) => id.match(DRIVE_RE)?.[1]).filter(Boolean).sort();
    if (!names.length) {
      render(this.table, h('p', { class: 'muted' }, 'No drives configured (add one below).'));
      return;
    }
    const s = (id) => this.hub.state(id);
    render(this.table, h('table', {},
      h('thead', {}, h('tr', {}, ['Drive', 'Path', 'Free', 'Used', 'Watched files', 'Waiting'].map((t) => h('th', {}, t)))),
      h('tbody', {}, names.map((n) => {
        const free = s(`sensor.drive_${n}_free`);
        const used = s(`sensor.drive_${n}_used_percent`);
        const watched = s(`sensor.drive_${n}_files_watched`);
        const waiting = s(`sensor.drive_${n}_waiting`);
        const path = free?.attributes?.path ?? free?.attributes?.root ?? '';
        return h('tr', { dataset: { drive: n } },
          h('td', {}, n), h('td', { class: 'hint' }, path),
          h('td', {}, free ? `${free.state} ${free.attributes?.unit_of_measurement ?? ''}` : '—'),
          h('td', {}, used ? h('div', { class: 'progress', title: `${used.state}%` }, h('div', { style: { width: `${Number(used.state) || 0}%` } })) : '—'),
          h('td', {}, watched?.state ?? '—'),
          h('td', { title: JSON.stringify(waiting?.attributes ?? {}) }, waiting?.state ?? '—'));
      }))));
  }
}
customElements.define('so-page-drives', DrivesPage);
