// The overlay page's entry point: /overlay/<name>?key=<read-only key>[&preview=1].
//
// Everything it shows comes over the WebSocket: `init` (layout + every slot's state; sent on every
// connect, so a reconnect resumes without a reload), `slot` (one slot changed), `revoked` (the key
// was rotated: go blank and stop). It reports what it actually showed (see reporter.js); a preview
// page (the dashboard's frame) reports nothing.

import { Connection } from "./connection.js";
import { Stage } from "./render.js";
import { Reporter } from "./reporter.js";
import { Visibility } from "./visibility.js";

const name = decodeURIComponent(location.pathname.split("/")[2] || "");
const params = new URLSearchParams(location.search);
const key = params.get("key") || "";
const preview = params.get("preview") === "1";
const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const query = `key=${encodeURIComponent(key)}${preview ? "&preview=1" : ""}`;
const wsURL = `${scheme}//${location.host}/overlay/${encodeURIComponent(name)}/ws?${query}`;

const assetURL = (src) => `/overlay/${encodeURIComponent(name)}/${src}?key=${encodeURIComponent(key)}`;
const stage = new Stage(document.getElementById("stage"), assetURL);
const banner = document.getElementById("banner");
const visibility = new Visibility();
const loadedFonts = new Set();

if (preview) document.body.classList.add("preview");

function showError(message) {
  if (preview && message) {
    banner.textContent = message;
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

function loadFonts(fonts) {
  for (const font of fonts || []) {
    const id = `${font.family}|${font.weight}|${font.style}|${font.src}`;
    if (!font.src || loadedFonts.has(id)) continue;
    loadedFonts.add(id);
    const face = new FontFace(font.family, `url("${stage.assetURL(font.src)}")`, {
      weight: String(font.weight),
      style: font.style,
    });
    face
      .load()
      .then((loaded) => document.fonts.add(loaded))
      .catch(() => console.warn(`overlay: font ${font.family} could not be loaded; using the system font`));
  }
}

function onMessage(message) {
  switch (message.type) {
    case "init":
      if (message.error) {
        stage.clear();
        showError(message.error);
        return;
      }
      showError(null);
      if (stage.version !== message.version) {
        loadFonts(message.manifest.fonts);
        visibility.setInitial(message.manifest.obs_initially);
        stage.build(message.manifest, message.version);
      }
      for (const slot of Object.values(message.slots)) stage.apply(slot);
      return;
    case "slot":
      stage.apply(message);
      return;
    case "ack":
    case "welcome":
      reporter.acknowledge(message.seq);
      return;
    case "revoked":
      connection.stop();
      stage.clear();
      showError("This overlay's key was revoked: copy the new URL from the hub.");
      return;
    default:
      return;
  }
}

const connection = new Connection(wsURL, {
  onOpen: () => reporter.opened(),
  onMessage,
  onClose: () => {},
});
const reporter = new Reporter(connection, !preview);

const report = () => reporter.update(stage.shown(), visibility.countable);
stage.addEventListener("change", report);
visibility.addEventListener("change", report);
window.addEventListener("pagehide", () => reporter.leave());

// For tests and for the curious: the page's view of itself.
window.streamopsOverlay = { stage, reporter, visibility, connection };

connection.start();
