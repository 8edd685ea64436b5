// Hover-scrub: the mouse's x over a thumbnail picks a moment of the recording.
//
// With a sprite sheet (media.sprite) the frame is one cell of the sheet, chosen through the sheet's
// JSON index (cells with x/y/w/h and time) and shown as a scaled CSS background — no video decode,
// so a grid of hundreds of tiles scrubs smoothly. Without a sheet but with a hover clip
// (media.hover), the clip's currentTime follows the mouse instead.

import { derivativeUrl } from './assets-api.js';

const indexCache = new Map(); // asset id → Promise<sprite index | null>

export function spriteIndex(hub, id) {
  if (!indexCache.has(id)) {
    const promise = hub.api('GET', `/api/assets/${id}/derivatives/sprite_index`).catch(() => null);
    indexCache.set(id, promise);
  }
  return indexCache.get(id);
}

/** The sheet cell for a fraction 0..1 of the tile's width. */
export function cellAt(index, fraction) {
  const cells = index?.cells || [];
  if (!cells.length) return null;
  const i = Math.min(cells.length - 1, Math.max(0, Math.floor(fraction * cells.length)));
  return cells[i];
}

/**
 * Attach scrubbing to `box` (the thumbnail's frame). `kinds` is the set of derivatives the asset
 * has. Returns a detach function.
 */
export function attachScrub(hub, box, asset, kinds) {
  let index = null;
  let video = null;
  let active = false;
  const hasSprite = kinds.has('sprite') && kinds.has('sprite_index');
  const hasHover = kinds.has('hover');
  if (!hasSprite && !hasHover) return () => {};

  const fraction = (ev) => {
    const rect = box.getBoundingClientRect();
    return rect.width ? Math.min(0.999, Math.max(0, (ev.clientX - rect.left) / rect.width)) : 0;
  };

  const showCell = (f) => {
    const cell = cellAt(index, f);
    if (!cell) return;
    const scale = box.clientWidth / cell.w;
    box.style.backgroundImage = `url("${derivativeUrl(hub, asset.id, 'sprite')}")`;
    box.style.backgroundSize = `${index.sheet_width * scale}px ${index.sheet_height * scale}px`;
    box.style.backgroundPosition = `${-cell.x * scale}px ${-cell.y * scale}px`;
    box.dataset.frame = String(cell.index);
    box.dataset.time = String(cell.time);
    box.classList.add('scrubbing');
  };

  const onMove = (ev) => {
    const f = fraction(ev);
    if (index) {
      showCell(f);
    } else if (video && Number.isFinite(video.duration)) {
      video.currentTime = f * video.duration;
      box.dataset.frame = String(Math.floor(f * 100));
    }
  };

  const onEnter = async (ev) => {
    active = true;
    if (hasSprite) {
      index = await spriteIndex(hub, asset.id);
      if (index && active) onMove(ev);
    }
    if (!index && hasHover && active && !video) {
      video = document.createElement('video');
      video.muted = true;
      video.preload = 'auto';
      video.playsInline = true;
      video.className = 'scrub-video';
      video.src = derivativeUrl(hub, asset.id, 'hover');
      box.append(video);
      box.classList.add('scrubbing');
    }
  };

  const onLeave = () => {
    active = false;
    box.classList.remove('scrubbing');
    box.style.backgroundImage = '';
    delete box.dataset.frame;
    delete box.dataset.time;
    if (video) {
      video.removeAttribute('src');
      video.load();
      video.remove();
      video = null;
    }
  };

  box.addEventListener('mouseenter', onEnter);
  box.addEventListener('mousemove', onMove);
  box.addEventListener('mouseleave', onLeave);
  return () => {
    onLeave();
    box.removeEventListener('mouseenter', onEnter);
    box.removeEventListener('mousemove', onMove);
    box.removeEventListener('mouseleave', onLeave);
  };
}
