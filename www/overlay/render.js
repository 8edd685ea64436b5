// Rendering: the canvas, its slots, and each slot's current item with enter/exit animations.
//
// A slot changes one step at a time (exit the old item, then enter the new one); changes that
// arrive during an animation are coalesced, so a burst of updates never stacks animations. A change
// of text or image of the item already on screen is applied in place, at once, without animation.

const STYLE_PROPS = {
  font_family: "fontFamily",
  font_size: "fontSize",
  font_weight: "fontWeight",
  color: "color",
  background: "background",
  padding: "padding",
  radius: "borderRadius",
  align: "textAlign",
  shadow: "textShadow",
  line_height: "lineHeight",
  gap: "gap",
};
const PIXEL_PROPS = new Set(["font_size", "padding", "radius", "gap"]);

const EFFECTS = {
  none: [],
  fade: [{ opacity: 0 }, { opacity: 1 }],
  slide_left: [{ transform: "translateX(-100%)", opacity: 0 }, { transform: "translateX(0)", opacity: 1 }],
  slide_right: [{ transform: "translateX(100%)", opacity: 0 }, { transform: "translateX(0)", opacity: 1 }],
  slide_up: [{ transform: "translateY(100%)", opacity: 0 }, { transform: "translateY(0)", opacity: 1 }],
  slide_down: [{ transform: "translateY(-100%)", opacity: 0 }, { transform: "translateY(0)", opacity: 1 }],
  zoom: [{ transform: "scale(0.6)", opacity: 0 }, { transform: "scale(1)", opacity: 1 }],
};

function applyStyle(element, style) {
  for (const [key, value] of Object.entries(style || {})) {
    const prop = STYLE_PROPS[key];
    if (!prop) continue;
    element.style[prop] = typeof value === "number" && PIXEL_PROPS.has(key) ? `${value}px` : String(value);
  }
  if (style && style.align) {
    const justify = { left: "flex-start", center: "center", right: "flex-end" }[style.align];
    if (justify) element.style.justifyContent = justify;
  }
}

async function animate(element, spec, reverse) {
  const frames = EFFECTS[spec && spec.effect] || [];
  if (!frames.length || !spec.duration) return;
  const animation = element.animate(reverse ? [...frames].reverse() : frames, {
    duration: spec.duration * 1000,
    easing: spec.easing || "ease-out",
    fill: "forwards",
  });
  try {
    await animation.finished;
  } catch {
    // cancelled: the element is being removed anyway
  }
}

class SlotView {
  constructor(stage, name, spec) {
    this.stage = stage;
    this.name = name;
    this.spec = spec;
    this.el = document.createElement("div");
    this.el.className = "slot";
    this.el.dataset.slot = name;
    const { x, y, width, height } = spec.rect;
    Object.assign(this.el.style, { left: `${x}px`, top: `${y}px`, width: `${width}px`, height: `${height}px` });
    this.el.dataset.hidden = "true";
    this.shownItem = null; // id of the item element in the DOM while the slot is displayed
    this.itemEl = null;
    this.item = null;
    this.visible = false;
    this.desired = { visible: false, item: null };
    this.busy = false;
  }

  apply(message) {
    this.desired = { visible: Boolean(message.visible), item: message.item || null };
    // Same item, still visible: change its fields in place, now.
    if (
      this.itemEl &&
      this.visible &&
      this.desired.visible &&
      this.desired.item &&
      this.item &&
      this.desired.item.id === this.item.id
    ) {
      this.fill(this.itemEl, this.desired.item, this.item);
      this.item = this.desired.item;
      return;
    }
    this.pump();
  }

  async pump() {
    if (this.busy) return;
    this.busy = true;
    try {
      for (;;) {
        const want = this.desired;
        const wantItem = want.visible ? want.item : null;
        const haveItem = this.itemEl ? this.item : null;
        if ((wantItem && wantItem.id) === (haveItem && haveItem.id) && want.visible === this.visible) {
          if (wantItem && this.itemEl) {
            this.fill(this.itemEl, wantItem, this.item);
            this.item = wantItem;
          }
          break;
        }
        if (this.itemEl && (!wantItem || !haveItem || wantItem.id !== haveItem.id)) {
          const leaving = this.itemEl;
          await animate(leaving, this.spec.exit, true);
          leaving.remove();
          this.itemEl = null;
          this.item = null;
          this.shownItem = null;
          this.stage.changed();
          continue;
        }
        this.visible = want.visible;
        this.el.dataset.hidden = want.visible ? "false" : "true";
        if (wantItem && !this.itemEl) {
          const element = document.createElement("div");
          element.className = `item layout-${this.spec.layout}`;
          element.dataset.item = wantItem.id;
          applyStyle(element, this.spec.style);
          this.fill(element, wantItem, null);
          this.itemEl = element;
          this.item = wantItem;
          this.el.appendChild(element);
          this.shownItem = wantItem.id;
          this.stage.changed();
          await animate(element, this.spec.enter, false);
          continue;
        }
        this.stage.changed();
      }
    } finally {
      this.busy = false;
    }
  }

  // Put an item's media and text into its element (only what differs from `before`).
  fill(element, item, before) {
    const same = (field) => before && JSON.stringify(before[field]) === JSON.stringify(item[field]);
    if (!same("image")) this.media(element, "image", item.image);
    if (!same("video")) this.media(element, "video", item.video);
    let text = element.querySelector(":scope > .text");
    if (item.text === null || item.text === undefined) {
      if (text) text.remove();
    } else {
      if (!text) {
        text = document.createElement("div");
        text.className = "text";
        element.appendChild(text);
      }
      if (text.textContent !== item.text) text.textContent = item.text;
    }
  }

  media(element, kind, ref) {
    const existing = element.querySelector(`:scope > [data-media="${kind}"]`);
    if (existing) existing.remove();
    if (!ref) return;
    let node;
    if (ref.missing || !ref.src) {
      node = this.placeholder(kind, ref.missing || "?");
    } else if (kind === "image") {
      node = document.createElement("img");
      node.alt = "";
      node.decoding = "async";
      node.addEventListener("error", () => {
        console.warn(`overlay: ${kind} ${ref.src} could not be loaded; showing a placeholder`);
        node.replaceWith(this.placeholder(kind, ref.src));
      });
      node.src = this.stage.assetURL(ref.src);
    } else {
      node = document.createElement("video");
      node.muted = true;
      node.loop = true;
      node.autoplay = true;
      node.playsInline = true;
      node.src = this.stage.assetURL(ref.src);
      node.play().catch(() => {});
    }
    node.dataset.media = kind;
    const text = element.querySelector(":scope > .text");
    element.insertBefore(node, text);
  }

  placeholder(kind, path) {
    const node = document.createElement("div");
    node.className = "placeholder";
    node.dataset.media = kind;
    node.dataset.missing = path;
    node.textContent = `${kind} missing: ${path}`;
    return node;
  }
}

export class Stage extends EventTarget {
  constructor(root, assetURL) {
    super();
    this.root = root;
    this.assetURL = assetURL;
    this.slots = new Map();
    this.version = null;
    this.canvas = { width: 1920, height: 1080 };
    window.addEventListener("resize", () => this.fit());
  }

  build(manifest, version) {
    this.clear();
    this.version = version;
    this.canvas = manifest.canvas;
    this.root.style.width = `${manifest.canvas.width}px`;
    this.root.style.height = `${manifest.canvas.height}px`;
    const safe = manifest.safe_area;
    const guide = document.createElement("div");
    guide.className = "safe-area";
    Object.assign(guide.style, {
      left: `${safe.left}px`,
      top: `${safe.top}px`,
      right: `${safe.right}px`,
      bottom: `${safe.bottom}px`,
    });
    this.root.appendChild(guide);
    for (const [name, spec] of Object.entries(manifest.slots)) {
      const view = new SlotView(this, name, spec);
      this.slots.set(name, view);
      this.root.appendChild(view.el);
    }
    this.fit();
  }

  clear() {
    this.root.replaceChildren();
    this.slots.clear();
    this.version = null;
    this.changed();
  }

  apply(message) {
    const view = this.slots.get(message.slot);
    if (view) view.apply(message);
  }

  // Map slot → item id for every item element in the DOM of a displayed slot.
  shown() {
    const out = new Map();
    for (const [name, view] of this.slots) {
      if (view.shownItem && view.visible) out.set(name, view.shownItem);
    }
    return out;
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }

  // OBS sizes the source to the canvas; a preview frame is smaller: scale to fit, never crop.
  fit() {
    const scale = Math.min(window.innerWidth / this.canvas.width, window.innerHeight / this.canvas.height) || 1;
    this.root.style.transform = Math.abs(scale - 1) < 0.001 ? "" : `scale(${scale})`;
  }
}
