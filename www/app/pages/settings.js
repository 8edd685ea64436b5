// Settings: guardrail thresholds and feature flags (GET/PUT /api/settings, each showing the value
// in force and where it comes from), OBS connection test, MQTT status, access tokens, and a
// `docker run` command generator for the user's drive letters.
import { PageElement, h, render, formatTime, formatBytes, copyText, toast } from '../util.js';

const SOURCE_LABEL = { default: 'default', ui: 'saved here', yaml: 'configuration.yaml', env: 'environment' };

export function dockerCommand(image, mounts, port = 7767) {
  const lines = ['docker run -d --name streamops --restart unless-stopped', `  -p 127.0.0.1:${port}:7767`, '  -v streamops-data:/data'];
  for (const m of mounts) {
    const host = m.host.trim();
    if (!host) continue;
    // C:\Recordings → /c/Recordings style on Docker Desktop is accepted too; keep what the user typed.
    const normal = /^[A-Za-z]:$/.test(host) ? `${host}\\` : host;
    lines.push(`  -v "${normal}:${m.target}"`);
  }
  lines.push('  -e OBS_WS_URL=ws://host.docker.internal:4455', `  ${image}`);
  return lines.join(' \\\n');
}

class SettingsPage extends PageElement {
  async setup() {
    render(this, h('h1', {}, 'Settings'),
      this.settingsEl = h('div', { id: 'settings-list' }),
      h('h2', {}, 'OBS'), this.obsEl = h('div', { class: 'card', id: 'obs-settings' }),
      h('h2', {}, 'MQTT'), this.mqttEl = h('div', { class: 'card' }),
      h('h2', {}, 'Access tokens'), this.tokensEl = h('div', { class: 'card', id: 'tokens' }),
      h('h2', {}, 'Backup and restore'), this.backupEl = h('div', { class: 'card', id: 'backups' }),
      h('h2', {}, 'docker run'), this.dockerEl = h('div', { class: 'card', id: 'docker' }));
    await this.loadSettings();
    this.drawObs();
    this.drawMqtt();
    this.loadTokens();
    this.loadBackups();
    this.own(this.hub.watch(null, (changed) => {
      if (changed.some((id) => id.startsWith('binary_sensor.obs') || id.startsWith('sensor.obs'))) this.drawObs();
    }));
  }

  // One zip with config, database and overlay packs (POST /api/backup); a restore is validated,
  // staged and applied when the hub next starts (POST /api/restore).
  async loadBackups() {
    let data;
    try {
      data = await this.hub.api('GET', '/api/backups');
    } catch (err) {
      render(this.backupEl, h('div', { class: 'muted' }, `Backups unavailable: ${err.message}`));
      return;
    }
    const create = async () => {
      try {
        const made = await this.hub.api('POST', '/api/backup', {});
        toast(`Backup ${made.name} written (${formatBytes(made.size)})`, 'ok');
      } catch (err) {
        toast(err.message, 'error');
      }
      this.loadBackups();
    };
    const restore = async (name) => {
      if (!window.confirm(`Restore ${name}? It is checked now and applied when the hub restarts; the current state is kept as a safety copy.`)) return;
      try {
        const answer = await this.hub.api('POST', '/api/restore', { name });
        toast(answer.message || 'Restore staged: restart the hub to apply it', 'ok');
      } catch (err) {
        toast(err.message, 'error');
      }
      this.loadBackups();
    };
    const rows = data.backups.map((b) => h('tr', { dataset: { backup: b.name } },
      h('td', {}, b.name, b.error ? h('div', { class: 'hint' }, b.error) : null),
      h('td', {}, formatBytes(b.size)),
      h('td', {}, formatTime(b.modified)),
      h('td', {}, h('a', { href: `/api/backups/${encodeURIComponent(b.name)}`, download: b.name }, 'Download'), ' ',
        b.error ? null : h('button', { type: 'button', onclick: () => restore(b.name) }, 'Restore'))));
    render(this.backupEl,
      h('div', { class: 'row' }, h('button', { type: 'button', id: 'backup-create', onclick: create }, 'Create backup'),
        data.pending_restore ? h('span', { class: 'badge warn' }, `restore of ${data.pending_restore.file} applies at the next start`) : null),
      rows.length ? h('table', {}, h('tbody', {}, rows)) : h('div', { class: 'muted' }, 'No backups yet.'));
  }

  async loadSettings() {
    const { settings } = await this.hub.api('GET', '/api/settings');
    this.settings = settings;
    const groups = new Map();
    for (const s of settings) {
      if (!groups.has(s.group)) groups.set(s.group, []);
      groups.get(s.group).push(s);
    }
    render(this.settingsEl, [...groups].filter(([g]) => g !== 'Docker').map(([group, items]) =>
      h('div', { class: 'card', style: { marginBottom: '12px' } }, h('div', { class: 'card-title' }, group),
        h('table', {}, h('tbody', {}, items.map((s) => this.settingRow(s)))))));
    this.drawDocker();
  }

  settingRow(s) {
    const id = `setting-${s.key.replace(/\./g, '-')}`;
    let input;
    if (s.type === 'boolean') input = h('input', { type: 'checkbox', id, checked: !!s.value, disabled: !s.editable });
    else input = h('input', { id, type: s.type === 'number' ? 'number' : 'text', step: 'any', value: s.value ?? '', disabled: !s.editable, style: { width: s.type === 'number' ? '90px' : '260px' } });
    const save = async (value) => {
      try {
        await this.hub.api('PUT', '/api/settings', { [s.key]: value });
        toast(`${s.title} saved`, 'ok');
      } catch (err) {
        toast(err.message, 'error');
      }
      await this.loadSettings();
    };
    input.addEventListener('change', () => {
      if (s.type === 'boolean') save(input.checked);
      else if (s.type === 'number') save(input.value === '' ? null : Number(input.value));
      else save(input.value);
    });
    return h('tr', { dataset: { setting: s.key, source: s.source } },
      h('td', {}, h('label', { for: id }, s.title), h('div', { class: 'hint' }, s.description)),
      h('td', {}, h('div', { class: 'row' }, input, s.unit ? h('span', { class: 'muted' }, s.unit) : null)),
      h('td', {}, h('span', { class: `badge ${s.source === 'ui' ? 'ok' : s.editable ? '' : 'warn'}`, title: s.reason }, SOURCE_LABEL[s.source]),
        h('div', { class: 'hint' }, s.reason)),
      h('td', {}, s.source === 'ui' ? h('button', { type: 'button', onclick: () => save(null), title: `back to ${s.default}` }, 'Reset') : null));
  }

  drawObs() {
    const s = (id) => this.hub.state(id);
    const connected = s('binary_sensor.obs_connected');
    const hasObs = !!this.hub.services?.obs;
    const out = h('div', { id: 'obs-test-result' });
    const test = async () => {
      render(out, h('span', { class: 'muted' }, 'Asking OBS…'));
      try {
        const r = await this.hub.callService('obs', 'request', { request_type: 'GetVersion' }, { returnResponse: true });
        const v = r?.response ?? r;
        render(out, h('span', { class: 'ok' }, `Connected: OBS ${v?.obsVersion ?? ''} (obs-websocket ${v?.obsWebSocketVersion ?? '?'})`));
      } catch (err) {
        render(out, h('span', { class: 'error' }, err.message));
      }
    };
    render(this.obsEl,
      hasObs
        ? [h('p', {}, 'Connection: ', connected ? h('span', { class: `badge ${connected.state === 'on' ? 'ok' : 'bad'}` }, connected.state === 'on' ? 'connected' : connected.state) : 'unknown',
            connected?.attributes?.url ? h('span', { class: 'muted' }, ` ${connected.attributes.url}`) : null),
          h('div', { class: 'row' }, h('button', { type: 'button', class: 'primary', id: 'obs-test', onclick: test }, 'Test connection'),
            h('button', { type: 'button', onclick: () => this.hub.callService('obs', 'reconnect', {}).then(() => toast('Reconnecting', 'ok'), (e) => toast(e.message, 'error')) }, 'Reconnect'), out)]
        : h('p', { class: 'muted' }, 'OBS is not set up.'),
      h('p', { class: 'hint' }, 'The endpoint is set in configuration.yaml (obs: host, port, password: !secret obs_password) or with OBS_WS_URL / OBS_WS_PASSWORD in the container.'));
  }

  drawMqtt() {
    const hasMqtt = !!this.hub.services?.mqtt;
    const status = [...this.hub.states.values()].find((st) => st.entity_id.startsWith('binary_sensor.mqtt'));
    render(this.mqttEl,
      h('p', {}, hasMqtt ? 'MQTT is set up.' : 'MQTT is not set up.', status ? ` ${status.entity_id}: ${status.state}` : ''),
      h('pre', {}, 'mqtt:\n  broker: 127.0.0.1\n  port: 1883\n  username: streamops\n  password: !secret mqtt_password'),
      h('p', { class: 'hint' }, 'MQTT is configured in configuration.yaml (docs/mqtt.md): Home Assistant discovery and Stream Deck keys.'));
  }

  async loadTokens() {
    let tokens;
    try {
      tokens = await this.hub.api('GET', '/api/tokens');
    } catch (err) {
      render(this.tokensEl, h('p', { class: 'error' }, err.message));
      return;
    }
    const name = h('input', { placeholder: 'name, e.g. streamdeck', 'aria-label': 'New token name', id: 'token-name' });
    const created = h('div', { id: 'token-created' });
    render(this.tokensEl,
      h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Kind', 'Created', 'Last used', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, tokens.map((t) => h('tr', { dataset: { token: t.id } },
          h('td', {}, t.name, t.current ? h('span', { class: 'badge' }, 'this session') : null), h('td', {}, t.kind),
          h('td', {}, formatTime(t.created)), h('td', {}, formatTime(t.last_used)),
          h('td', {}, t.current ? null : h('button', { type: 'button', class: 'danger', onclick: () => this.revoke(t) }, 'Revoke')))))),
      h('form', { class: 'row', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const r = await this.hub.api('POST', '/api/tokens', { name: name.value });
          render(created, h('p', { class: 'ok' }, 'Shown once — copy it now:'), h('pre', {}, r.token), h('p', { class: 'hint' }, 'Login link: ', h('code', {}, r.login_link)));
          await this.loadTokensKeep(created);
        } catch (err) {
          toast(err.message, 'error');
        }
      } }, name, h('button', { type: 'submit' }, 'Create token')),
      created);
  }

  async loadTokensKeep(created) {
    await this.loadTokens();
    this.tokensEl.querySelector('#token-created').replaceWith(created);
  }

  async revoke(t) {
    if (!confirm(`Revoke token '${t.name}'? Its sessions end too.`)) return;
    try {
      await this.hub.api('DELETE', `/api/tokens/${t.id}`);
    } catch (err) {
      toast(err.message, 'error');
    }
    this.loadTokens();
  }

  drawDocker() {
    const image = this.settings.find((s) => s.key === 'frontend.docker_image')?.value || 'streamops';
    const rows = [{ host: 'D:\\Recordings', target: '/recordings' }, { host: 'E:\\Editing', target: '/editing' }];
    const out = h('pre', { id: 'docker-command' });
    const list = h('div', {});
    const redraw = () => {
      out.textContent = dockerCommand(image, rows);
      render(list, rows.map((r, i) => h('div', { class: 'row' },
        h('input', { value: r.host, 'aria-label': `Host folder ${i + 1}`, oninput: (ev) => { r.host = ev.target.value; out.textContent = dockerCommand(image, rows); } }),
        '→',
        h('input', { value: r.target, 'aria-label': `Container path ${i + 1}`, oninput: (ev) => { r.target = ev.target.value; out.textContent = dockerCommand(image, rows); } }),
        h('button', { type: 'button', onclick: () => { rows.splice(i, 1); redraw(); } }, 'Remove'))));
    };
    redraw();
    render(this.dockerEl,
      h('p', { class: 'hint' }, 'Your drive folders (Windows: D:\\Recordings; Linux/macOS: /mnt/recordings) and where the container sees them. Then point drives: at the container paths.'),
      list,
      h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => { rows.push({ host: '', target: '/media' }); redraw(); } }, 'Add folder'),
        h('button', { type: 'button', onclick: async () => toast((await copyText(out.textContent)) ? 'Command copied' : 'Copy failed', 'ok') }, 'Copy')),
      out);
  }
}
customElements.define('so-page-settings', SettingsPage);
