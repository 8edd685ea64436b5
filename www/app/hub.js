// The `hub` object every page and card receives: live states, events, services, REST.
//
// One WebSocket (Home Assistant protocol) per tab. The login cookie authenticates it: the browser
// sends the HttpOnly cookie with the upgrade request, and we answer `auth_required` with
// `{"type": "auth"}` without a token (streamops/api/websocket_api.py accepts that). Nothing secret
// is ever kept in JavaScript or in storage.
//
// Liveness: states come from `subscribe_entities` (HA's compressed stream: a full snapshot, then
// per-entity diffs), so `hub.states` is always the hub's view. When the socket drops, the shell
// shows "hub unreachable — reconnecting" and this object reconnects with backoff; on reconnect the
// snapshot replaces the map and every `hub.on()` subscription is renewed, so pages need no code
// for it.

/** A state as the REST API returns it: {entity_id, state, attributes, last_changed, last_updated}. */
function fromCompressed(entityId, c) {
  return {
    entity_id: entityId,
    state: c.s,
    attributes: c.a || {},
    last_changed: c.lc,
    last_updated: c.lu ?? c.lc,
  };
}

export class HubError extends Error {
  constructor(message, status = 0, body = null) {
    super(message);
    this.name = 'HubError';
    this.status = status;
    this.body = body;
  }
}

export class Hub extends EventTarget {
  constructor({ base = '', wsPath = '/api/websocket' } = {}) {
    super();
    this.base = base;
    this.wsPath = wsPath;
    /** @type {Map<string, object>} entity_id → state */
    this.states = new Map();
    this.connected = false;
    this.config = null;
    this.services = null;
    this._ws = null;
    this._nextId = 1;
    this._pending = new Map(); // id → {resolve, reject}
    this._eventSubs = new Map(); // event type → {id, callbacks:Set}
    this._stateWatchers = new Set(); // {ids:Set|null, cb}
    this._entitiesId = null;
    this._attempt = 0;
    this._closedByUs = false;
    this._timer = null;
    this._readyWaiters = [];
  }

  // -- connection ------------------------------------------------------------------------------
  /** Open the socket; resolves on the first successful auth (keeps retrying until then). */
  connect() {
    this._closedByUs = false;
    this._open();
    return this.ready();
  }

  /** A promise that resolves when connected (immediately if already). */
  ready() {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => this._readyWaiters.push(resolve));
  }

  close() {
    this._closedByUs = true;
    clearTimeout(this._timer);
    if (this._ws) this._ws.close();
  }

  _url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}${this.base}${this.wsPath}`;
  }

  _open() {
    let ws;
    try {
      ws = new WebSocket(this._url());
    } catch (err) {
      this._scheduleReconnect(String(err));
      return;
    }
    this._ws = ws;
    ws.onmessage = (ev) => this._onMessage(ev.data);
    ws.onclose = () => this._onClose(ws);
    ws.onerror = () => {}; // onclose follows; an unreachable hub is expected, not a console error
  }

  _onClose(ws) {
    if (this._ws !== ws) return;
    this._ws = null;
    const was = this.connected;
    this.connected = false;
    for (const { reject } of this._pending.values()) reject(new HubError('connection to the hub lost'));
    this._pending.clear();
    if (was) this._emit('connection', { connected: false });
    if (!this._closedByUs) this._scheduleReconnect();
  }

  _scheduleReconnect(reason = '') {
    this._attempt += 1;
    const delay = Math.min(5000, 250 * 2 ** Math.min(this._attempt, 5));
    this._emit('reconnecting', { attempt: this._attempt, delay, reason });
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this._open(), delay);
  }

  _send(obj) {
    this._ws.send(JSON.stringify(obj));
  }

  _onMessage(raw) {
    const data = JSON.parse(raw);
    const messages = Array.isArray(data) ? data : [data];
    for (const msg of messages) this._handle(msg);
  }

  _handle(msg) {
    switch (msg.type) {
      case 'auth_required':
        this._send({ type: 'auth' });
        return;
      case 'auth_invalid':
        this._closedByUs = true; // retrying cannot help; the shell shows the login form
        this._emit('auth-invalid', { message: msg.message });
        return;
      case 'auth_ok':
        this._onAuthOk(msg);
        return;
      case 'result': {
        const p = this._pending.get(msg.id);
        if (!p) return;
        this._pending.delete(msg.id);
        if (msg.success) p.resolve(msg.result);
        else p.reject(new HubError(msg.error?.message || 'request failed', 0, msg.error));
        return;
      }
      case 'pong': {
        const p = this._pending.get(msg.id);
        if (p) {
          this._pending.delete(msg.id);
          p.resolve('pong');
        }
        return;
      }
      case 'event':
        this._onEvent(msg);
        return;
      default:
    }
  }

  async _onAuthOk() {
    this._attempt = 0;
    this.connected = true;
    // Resubscribe first (they are per-socket on the server), then announce.
    const resubs = [];
    this._entitiesId = null;
    resubs.push(this._subscribeEntities());
    for (const [type, sub] of this._eventSubs) {
      resubs.push(
        this._rawWs({ type: 'subscribe_events', event_type: type }, (id) => {
          sub.id = id;
        }),
      );
    }
    try {
      await Promise.all(resubs);
      [this.config, this.services] = await Promise.all([
        this._rawWs({ type: 'get_config' }),
        this._rawWs({ type: 'get_services' }),
      ]);
    } catch (err) {
      // Socket dropped during resubscription: onclose schedules the next attempt.
      return;
    }
    this._emit('connection', { connected: true });
    const waiters = this._readyWaiters;
    this._readyWaiters = [];
    for (const resolve of waiters) resolve();
  }

  _subscribeEntities() {
    return this._rawWs({ type: 'subscribe_entities' }, (id) => {
      this._entitiesId = id;
      this._firstSnapshot = true;
    });
  }

  _onEvent(msg) {
    if (msg.id === this._entitiesId) {
      this._applyEntities(msg.event);
      return;
    }
    for (const [, sub] of this._eventSubs) {
      if (sub.id === msg.id) {
        for (const cb of [...sub.callbacks]) {
          try {
            cb(msg.event);
          } catch (err) {
            console.error('hub.on callback failed', err);
          }
        }
        return;
      }
    }
  }

  _applyEntities(ev) {
    const changed = [];
    if (this._firstSnapshot) {
      // A (re)connect: the snapshot is the whole truth; entities missing from it were removed.
      this._firstSnapshot = false;
      const fresh = new Set(Object.keys(ev.a || {}));
      for (const id of this.states.keys()) {
        if (!fresh.has(id)) {
          this.states.delete(id);
          changed.push(id);
        }
      }
    }
    for (const [id, c] of Object.entries(ev.a || {})) {
      this.states.set(id, fromCompressed(id, c));
      changed.push(id);
    }
    for (const [id, diff] of Object.entries(ev.c || {})) {
      const old = this.states.get(id);
      if (!old) continue;
      const add = diff['+'] || {};
      const next = { ...old, attributes: { ...old.attributes } };
      if ('s' in add) next.state = add.s;
      if ('lc' in add) {
        next.last_changed = add.lc;
        next.last_updated = add.lc;
      }
      if ('lu' in add) next.last_updated = add.lu;
      if (add.a) Object.assign(next.attributes, add.a);
      for (const key of diff['-']?.a || []) delete next.attributes[key];
      this.states.set(id, next);
      changed.push(id);
    }
    for (const id of ev.r || []) {
      this.states.delete(id);
      changed.push(id);
    }
    if (!changed.length) return;
    for (const w of [...this._stateWatchers]) {
      if (w.ids && !changed.some((id) => w.ids.has(id))) continue;
      try {
        w.cb(changed);
      } catch (err) {
        console.error('hub.watch callback failed', err);
      }
    }
    this._emit('states', { changed });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _rawWs(msg, onId) {
    if (!this._ws || this._ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new HubError('not connected to the hub'));
    }
    const id = this._nextId++;
    if (onId) onId(id);
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      this._send({ ...msg, id });
    });
  }

  // -- public API ------------------------------------------------------------------------------
  /** Send a WebSocket command (id added); resolves with `result`, rejects with the hub's message. */
  async ws(msg) {
    if (!this.connected) await this.ready();
    return this._rawWs(msg);
  }

  /** State object of one entity (or undefined). */
  state(entityId) {
    return this.states.get(entityId);
  }

  /**
   * Call cb(changedIds) whenever one of `entityIds` (array, or null for any) changes.
   * Returns an unsubscribe function.
   */
  watch(entityIds, cb) {
    const w = { ids: entityIds ? new Set(entityIds) : null, cb };
    this._stateWatchers.add(w);
    return () => this._stateWatchers.delete(w);
  }

  /**
   * Listen to a bus event type (e.g. 'job_progress'); cb(event) with {event_type, data, time_fired}.
   * One server subscription per type is shared by all listeners and renewed after a reconnect.
   * Returns an unsubscribe function.
   */
  on(eventType, cb) {
    let sub = this._eventSubs.get(eventType);
    if (!sub) {
      sub = { id: null, callbacks: new Set() };
      this._eventSubs.set(eventType, sub);
      if (this.connected) {
        this._rawWs({ type: 'subscribe_events', event_type: eventType }, (id) => {
          sub.id = id;
        }).catch((err) => console.warn(`subscribe ${eventType}:`, err.message));
      }
    }
    sub.callbacks.add(cb);
    return () => {
      sub.callbacks.delete(cb);
      if (sub.callbacks.size || this._eventSubs.get(eventType) !== sub) return;
      this._eventSubs.delete(eventType);
      if (this.connected && sub.id != null) {
        this._rawWs({ type: 'unsubscribe_events', subscription: sub.id }).catch(() => {});
      }
    };
  }

  /** Call a service; resolves with the response when `returnResponse` (else null). */
  async callService(domain, service, data = {}, { returnResponse = false, target } = {}) {
    const msg = { type: 'call_service', domain, service, service_data: data };
    if (target) msg.target = target;
    if (returnResponse) msg.return_response = true;
    const result = await this.ws(msg);
    return returnResponse ? result?.response ?? null : null;
  }

  /**
   * REST call with the session cookie: resolves with the parsed JSON body (or text), throws
   * HubError(message, status, body) for a non-2xx answer — body.errors holds lists of errors
   * (e.g. FILE:LINE messages from the automations API).
   */
  async api(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      if (typeof body === 'string') {
        init.body = body;
        init.headers['Content-Type'] = 'text/plain; charset=utf-8';
      } else {
        init.body = JSON.stringify(body);
        init.headers['Content-Type'] = 'application/json';
      }
    }
    let response;
    try {
      response = await fetch(this.base + path, init);
    } catch (err) {
      throw new HubError(`hub unreachable (${err.message})`, 0);
    }
    const type = response.headers.get('Content-Type') || '';
    const parsed = type.includes('json') ? await response.json().catch(() => null) : await response.text();
    if (!response.ok) {
      const message =
        (parsed && typeof parsed === 'object' && parsed.message) ||
        (typeof parsed === 'string' && parsed) ||
        `${method} ${path}: HTTP ${response.status}`;
      if (response.status === 401) this._emit('auth-invalid', { message });
      throw new HubError(message, response.status, parsed);
    }
    return parsed;
  }
}
