// Styles of the Assets page, the Clip Assist page and the assets card (added once to <head>; the
// shell's style.css provides the palette variables used here).

const CSS = `
.assets-page { display: flex; flex-direction: column; height: calc(100vh - 32px); min-height: 480px; }
.assets-head { display: flex; align-items: baseline; gap: 12px; }
.assets-head h1 { margin: 0 0 8px; }
.assets-count { color: var(--muted); }
.assets-toolbar { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 8px; }
.assets-toolbar input[type=search] { flex: 1 1 220px; min-width: 180px; font-size: 15px; }
.assets-toolbar select, .assets-toolbar input { max-width: 130px; }
.assets-toolbar input[type=date] { max-width: 132px; }
.detail-actions a.button { text-decoration: none; }
.assets-toolbar label { display: inline-flex; gap: 4px; align-items: center; color: var(--muted); }
.assets-body { flex: 1; display: flex; gap: 10px; min-height: 0; }
.assets-scroll { flex: 1; overflow-y: auto; overflow-x: hidden; border: 1px solid var(--border); border-radius: 8px;
  background: var(--panel); contain: strict; }
.asset-tile { background: var(--panel-2); border: 1px solid var(--border); border-radius: 8px; overflow: hidden;
  display: flex; flex-direction: column; cursor: pointer; will-change: transform; }
.asset-tile:hover, .asset-tile:focus-visible, .asset-tile.selected { border-color: var(--accent); }
.asset-thumb { position: relative; aspect-ratio: 16 / 9; width: 100%; background: #0b0d12 no-repeat;
  overflow: hidden; flex: none; }
.asset-thumb img { width: 100%; height: 100%; object-fit: cover; display: block; }
.asset-thumb.scrubbing img { visibility: hidden; }
.asset-thumb .scrub-video { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: cover; }
.asset-thumb .asset-empty { width: 100%; height: 100%; display: grid; place-items: center; color: var(--muted); font-size: 12px; }
.asset-dur { position: absolute; right: 6px; bottom: 6px; background: rgba(0,0,0,.75); color: #fff;
  font-size: 12px; padding: 1px 5px; border-radius: 4px; }
.asset-meta { display: flex; align-items: center; gap: 4px; padding: 5px 8px 0; min-width: 0; }
.asset-name { flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-weight: 600; }
.asset-sub { padding: 0 8px 6px; color: var(--muted); font-size: 12px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.fav { background: none; border: none; padding: 0 4px; font-size: 16px; color: var(--muted); line-height: 1; }
.fav[aria-pressed=true] { color: var(--warn); }
.asset-loading { background: var(--panel-2); border-radius: 8px; opacity: .5; }
.assets-empty { padding: 24px; color: var(--muted); }
.asset-detail { width: 300px; flex: none; background: var(--panel); border: 1px solid var(--border);
  border-radius: 8px; padding: 10px; overflow: auto; }
.asset-detail h2 { margin-top: 0; word-break: break-all; }
.asset-detail dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 8px; margin: 0 0 8px; font-size: 13px; }
.asset-detail dt { color: var(--muted); }
.asset-detail dd { margin: 0; word-break: break-all; }
.tag-chips { display: flex; flex-wrap: wrap; gap: 4px; margin: 6px 0; }
.tag-chip { background: var(--panel-2); border: 1px solid var(--border); border-radius: 12px; padding: 0 4px 0 8px;
  font-size: 12px; display: inline-flex; align-items: center; gap: 2px; }
.tag-chip button { background: none; border: none; padding: 0 4px; color: var(--muted); }
.detail-actions { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }

.clip-page { display: flex; flex-direction: column; gap: 8px; }
.clip-top { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.clip-top h1 { margin: 0; }
.clip-picker { position: relative; flex: 1 1 260px; max-width: 420px; }
.clip-picker input { width: 100%; }
.clip-picker ul { position: absolute; z-index: 5; left: 0; right: 0; top: 100%; margin: 2px 0 0; padding: 4px;
  list-style: none; background: var(--panel); border: 1px solid var(--border); border-radius: 6px; max-height: 300px; overflow: auto; }
.clip-picker li { padding: 4px 6px; border-radius: 4px; cursor: pointer; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.clip-picker li:hover, .clip-picker li[aria-selected=true] { background: var(--panel-2); }
.clip-main { display: grid; grid-template-columns: minmax(0, 1fr) 320px; gap: 10px; }
.clip-player video { width: 100%; max-height: 360px; background: #000; border-radius: 8px; display: block; }
.clip-timeline { width: 100%; height: 110px; display: block; background: var(--code); border: 1px solid var(--border);
  border-radius: 6px; cursor: crosshair; margin-top: 6px; }
.clip-legend { display: flex; gap: 12px; color: var(--muted); font-size: 12px; margin-top: 4px; flex-wrap: wrap; }
.clip-legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.clip-range { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-top: 6px; }
.clip-range output { font-variant-numeric: tabular-nums; background: var(--code); border: 1px solid var(--border);
  border-radius: 4px; padding: 2px 6px; min-width: 70px; text-align: center; }
.clip-side { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 10px;
  display: flex; flex-direction: column; gap: 8px; min-height: 0; }
.clip-side h2 { margin: 0; }
.clip-list { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 4px; }
.clip-list li { background: var(--panel-2); border: 1px solid var(--border); border-radius: 6px; padding: 4px 6px; font-size: 13px; }
.clip-job .bar { height: 6px; background: var(--border); border-radius: 3px; overflow: hidden; margin-top: 3px; }
.clip-job .bar > span { display: block; height: 100%; background: var(--accent); width: 0; transition: width .2s; }
.clip-job[data-status=done] .bar > span { background: var(--ok); }
.clip-job[data-status=error] .bar > span, .clip-job[data-status=canceled] .bar > span { background: var(--bad); }
.clip-job .out { color: var(--muted); word-break: break-all; font-size: 12px; }
.clip-keys { color: var(--muted); font-size: 12px; }
.clip-keys kbd { background: var(--panel-2); border: 1px solid var(--border); border-radius: 3px; padding: 0 4px; }

.assets-card-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: 6px; margin-top: 6px; }
.assets-card-grid .asset-tile { font-size: 12px; }
.assets-card input[type=search] { width: 100%; }
`;

export function ensureAssetStyles() {
  if (document.getElementById('so-assets-style')) return;
  const style = document.createElement('style');
  style.id = 'so-assets-style';
  style.textContent = CSS;
  document.head.append(style);
}
