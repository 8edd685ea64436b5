// First-run wizard: map drives (test each path, get the YAML), set the OBS URL (test it), turn on
// the default automations, then mark the wizard done (setting frontend.wizard_done).
import { PageElement, h, render, toast, copyText } from '../util.js';
import { driveYaml } from './drives.js';

class WizardPage extends PageElement {
  setup() {
    this.step = 0;
    this.draw();
  }

  draw() {
    const steps = [['Drives', () => this.drives()], ['OBS', () => this.obs()], ['Automations', () => this.automations()], ['Done', () => this.done()]];
    const body = h('div', { class: 'card', id: 'wizard-step' });
    render(this, h('h1', {}, 'Welcome to StreamOps'),
      h('ol', { class: 'row', style: { listStyle: 'none', padding: 0 } }, steps.map(([t], i) =>
        h('li', {}, h('span', { class: `badge ${i === this.step ? 'ok' : ''}`, 'aria-current': i === this.step ? 'step' : null }, `${i + 1}. ${t}`)))),
      body,
      h('div', { class: 'row', style: { marginTop: '12px' } },
        this.step > 0 ? h('button', { type: 'button', onclick: () => { this.step -= 1; this.draw(); } }, 'Back') : null,
        this.step < steps.length - 1 ? h('button', { type: 'button', class: 'primary', id: 'wizard-next', onclick: () => { this.step += 1; this.draw(); } }, 'Next') : null));
    body.append(...[steps[this.step][1]()].flat());
  }

  drives() {
    const recordings = h('input', { class: 'grow', id: 'wiz-recordings', placeholder: 'where OBS records, e.g. D:\\Recordings', value: sessionStorage.getItem('wiz-rec') || '' });
    const editing = h('input', { class: 'grow', id: 'wiz-editing', placeholder: 'the editing SSD, e.g. E:\\Editing', value: sessionStorage.getItem('wiz-edit') || '' });
    const result = h('div', {});
    const yaml = h('pre', {});
    const update = () => {
      sessionStorage.setItem('wiz-rec', recordings.value);
      sessionStorage.setItem('wiz-edit', editing.value);
      yaml.textContent = driveYaml('recordings', recordings.value || '/recordings', '**/*.mkv, **/*.mp4, **/*.mov', 10)
        + driveYaml('editing', editing.value || '/editing', '', 10).replace(/^drives:\n/, '').replace('watch: []', 'watch: []');
    };
    recordings.addEventListener('input', update);
    editing.addEventListener('input', update);
    update();
    const test = async (input) => {
      try {
        const r = await this.hub.callService('drives', 'probe', { path: input.value }, { returnResponse: true });
        result.append(h('p', { class: r.exists && r.writable ? 'ok' : 'warn' }, `${input.value}: ${r.exists ? 'exists' : 'missing'}, ${r.writable ? 'writable' : 'not writable'}${r.free_bytes ? `, ${(r.free_bytes / 2 ** 30).toFixed(1)} GiB free` : ''}`));
      } catch (err) {
        result.append(h('p', { class: 'error' }, `${input.value}: ${err.message}`));
      }
    };
    return [
      h('h2', {}, 'Map your drives'),
      h('div', { class: 'row' }, h('label', { for: 'wiz-recordings' }, 'Recordings'), recordings, h('button', { type: 'button', onclick: () => test(recordings) }, 'Test')),
      h('div', { class: 'row' }, h('label', { for: 'wiz-editing' }, 'Editing'), editing, h('button', { type: 'button', onclick: () => test(editing) }, 'Test')),
      result,
      h('p', { class: 'hint' }, 'Drives are set in configuration.yaml: replace its drives: section with this, then restart the hub.'),
      yaml,
      h('button', { type: 'button', onclick: async () => toast((await copyText(yaml.textContent)) ? 'Copied' : 'Copy failed', 'ok') }, 'Copy YAML'),
    ];
  }

  obs() {
    const url = h('input', { class: 'grow', id: 'wiz-obs', value: sessionStorage.getItem('wiz-obs') || 'ws://127.0.0.1:4455' });
    const out = h('div', {});
    const snippet = h('pre', {});
    const update = () => {
      sessionStorage.setItem('wiz-obs', url.value);
      let host = '127.0.0.1';
      let port = 4455;
      try {
        const u = new URL(url.value);
        host = u.hostname;
        port = Number(u.port) || 4455;
      } catch {
        /* keep defaults while typing */
      }
      snippet.textContent = `obs:\n  host: ${host}\n  port: ${port}\n  password: !secret obs_password\n\n# or, in the container:  -e OBS_WS_URL=${url.value}`;
    };
    url.addEventListener('input', update);
    update();
    return [
      h('h2', {}, 'Connect OBS'),
      h('p', { class: 'hint' }, 'In OBS: Tools → WebSocket Server Settings → enable, note the port and password.'),
      h('div', { class: 'row' }, h('label', { for: 'wiz-obs' }, 'OBS WebSocket URL'), url,
        h('button', { type: 'button', onclick: async () => {
          try {
            const r = await this.hub.callService('obs', 'request', { request_type: 'GetVersion' }, { returnResponse: true });
            render(out, h('p', { class: 'ok' }, `Connected to OBS ${(r?.response ?? r)?.obsVersion ?? ''}`));
          } catch (err) {
            render(out, h('p', { class: 'error' }, `Not connected: ${err.message}`));
          }
        } }, 'Test the configured connection')),
      out,
      h('p', { class: 'hint' }, 'The OBS endpoint is set in configuration.yaml (the password in secrets.yaml):'),
      snippet,
    ];
  }

  automations() {
    const box = h('div', { id: 'wiz-automations' }, h('p', { class: 'muted' }, 'Loading…'));
    this.hub.api('GET', '/api/automations').then((items) => {
      const defaults = items.filter((a) => a.source?.origin === 'default');
      render(box, defaults.length ? h('table', {}, h('tbody', {}, defaults.map((a) => {
        const on = this.hub.state(a.entity_id)?.state === 'on';
        return h('tr', {}, h('td', {}, h('input', { type: 'checkbox', checked: on, 'aria-label': a.alias || a.id,
          onchange: (ev) => this.hub.callService('automation', ev.target.checked ? 'turn_on' : 'turn_off', { entity_id: a.entity_id }).catch((e) => toast(e.message, 'error')) })),
          h('td', {}, h('strong', {}, a.alias || a.id), h('div', { class: 'hint' }, a.description || '')));
      }))) : h('p', { class: 'muted' }, 'No shipped default automations found.'));
    }, (err) => render(box, h('p', { class: 'error' }, err.message)));
    return [h('h2', {}, 'The default automations'), h('p', { class: 'hint' }, 'Remux → move to the editing drive → sidecar → index → previews. Turn on what you want; you can change this later on the Automations page.'), box];
  }

  done() {
    return [
      h('h2', {}, 'All set'),
      h('p', {}, 'Your dashboard shows recording status, jobs and drives live.'),
      h('button', { type: 'button', class: 'primary', id: 'wizard-finish', onclick: async () => {
        try {
          await this.hub.api('PUT', '/api/settings', { 'frontend.wizard_done': true });
        } catch (err) {
          toast(err.message, 'error');
          return;
        }
        location.hash = '#/dashboard';
      } }, 'Open the dashboard'),
    ];
  }
}
customElements.define('so-page-wizard', WizardPage);
