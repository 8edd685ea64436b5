// Is the overlay really on the stream? OBS's browser source tells the page through events on
// `window`: `obsSourceVisibleChanged` (detail.visible: the source is shown in some scene) and
// `obsSourceActiveChanged` (detail.active: it is on program). Impressions count only while both are
// true. Outside OBS (a normal browser) the page counts as visible. Inside OBS, before the first
// event, the manifest's `obs_initially` decides.

export class Visibility extends EventTarget {
  constructor() {
    super();
    this.inObs = typeof window.obsstudio === "object" && window.obsstudio !== null;
    this.initially = true;
    this.visible = null;
    this.active = null;
    window.addEventListener("obsSourceVisibleChanged", (event) => {
      this.visible = Boolean(event.detail && event.detail.visible);
      this.changed();
    });
    window.addEventListener("obsSourceActiveChanged", (event) => {
      this.active = Boolean(event.detail && event.detail.active);
      this.changed();
    });
  }

  setInitial(obsInitially) {
    this.initially = !this.inObs || obsInitially !== "hidden";
    this.changed();
  }

  get countable() {
    const visible = this.visible === null ? this.initially : this.visible;
    const active = this.active === null ? this.initially : this.active;
    return visible && active;
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }
}
