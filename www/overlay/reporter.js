// Impression reports: what the page actually showed, as `start`/`stop` of an item per slot.
//
// The hub clocks durations with its own clock; the page only says when, with a sequence number
// (per page load) and its monotonic clock (performance.now, immune to wall-clock changes). Reports
// stay in an outbox until the hub acknowledges them, so a report made while the socket is down is
// delivered after the reconnect (the hub places it with the page's clock and ignores duplicates),
// followed by a `sync` of what is on screen now.

const MAX_OUTBOX = 2000;

function newSessionId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class Reporter {
  constructor(connection, enabled) {
    this.connection = connection;
    this.enabled = enabled;
    this.session = newSessionId();
    this.seq = 0;
    this.outbox = [];
    this.reported = new Map(); // slot → item id
  }

  emit(type, fields) {
    this.seq += 1;
    const message = { type, seq: this.seq, t: performance.now() / 1000, ...fields };
    this.outbox.push(message);
    if (this.outbox.length > MAX_OUTBOX) this.outbox.shift();
    this.connection.send(message);
  }

  acknowledge(seq) {
    while (this.outbox.length && this.outbox[0].seq <= seq) this.outbox.shift();
  }

  opened() {
    if (!this.enabled) {
      this.connection.send({ type: "hello", preview: true });
      return;
    }
    this.connection.send({ type: "hello", session: this.session });
    for (const message of this.outbox) this.connection.send(message);
    this.emit("sync", { showing: [...this.reported.values()] });
  }

  // `shown`: Map slot → item id currently on screen (as the stage sees it).
  update(shown, countable) {
    if (!this.enabled) return;
    const desired = countable ? shown : new Map();
    for (const [slot, item] of [...this.reported]) {
      if (desired.get(slot) !== item) {
        this.reported.delete(slot);
        this.emit("stop", { slot, item });
      }
    }
    for (const [slot, item] of desired) {
      if (!this.reported.has(slot)) {
        this.reported.set(slot, item);
        this.emit("start", { slot, item });
      }
    }
  }

  // The page is going away (OBS closing the source, a reload): report the end while we still can.
  leave() {
    this.update(new Map(), false);
  }
}
