// The page's WebSocket to the hub: reconnects by itself with exponential backoff (and jitter, so a
// restarted hub is not hit by every browser source at the same instant), and detects a dead socket
// with a heartbeat, because a half-open TCP connection never fires `close` on its own.

const BASE_DELAY_MS = 250;
const MAX_DELAY_MS = 10000;
const PING_EVERY_MS = 5000;
const SILENCE_LIMIT_MS = 15000;

export class Connection {
  constructor(url, { onOpen, onMessage, onClose }) {
    this.url = url;
    this.onOpen = onOpen;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.ws = null;
    this.attempts = 0;
    this.stopped = false;
    this.lastHeard = 0;
    this.timer = null;
    this.pinger = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) this.ws.close();
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  connect() {
    clearTimeout(this.timer);
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempts = 0;
      this.lastHeard = performance.now();
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.heartbeat(ws), PING_EVERY_MS);
      this.onOpen();
    };
    ws.onmessage = (event) => {
      this.lastHeard = performance.now();
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(data);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      clearInterval(this.pinger);
      this.ws = null;
      this.onClose(event);
      if (!this.stopped) this.scheduleReconnect();
    };
    // An error is always followed by close, which does the work.
    ws.onerror = () => {};
  }

  heartbeat(ws) {
    if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
    if (performance.now() - this.lastHeard > SILENCE_LIMIT_MS) {
      ws.close();
      return;
    }
    ws.send(JSON.stringify({ type: "ping" }));
  }

  scheduleReconnect() {
    const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempts) * (0.5 + Math.random() / 2);
    this.attempts = Math.min(this.attempts + 1, 16);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
