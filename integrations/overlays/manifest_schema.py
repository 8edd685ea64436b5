"""Overlay manifests: `<config>/overlays/<name>/manifest.yaml` (or `.json`), validated with file:line.

A manifest describes one browser source: the canvas, its safe area, fonts, named images and videos,
layout slots placed by anchor inside the safe area, enter/exit animations, and per slot either
static content (text / image / video) or a rotator of items with duration, weight, `schedule:`
windows and a maximum share per hour. See docs/overlays.md for the reference.

Structural problems go through voluptuous and `streamops.config.validate`, so each names the file
and line; the checks voluptuous cannot express (an unknown image name, a slot off the canvas, a
duplicate item id) use the loader's locations the same way. A missing image or font file is not an
error: the page shows a placeholder, and the problem is returned as a warning to log.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import voluptuous as vol

from streamops.config import ConfigError, ConfigErrors, load_yaml, location_of, validate

from .schedule import WINDOW_SCHEMA, Window, build_window

MANIFEST_FILES = ("manifest.yaml", "manifest.yml", "manifest.json")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
EFFECTS = ("none", "fade", "slide_left", "slide_right", "slide_up", "slide_down", "zoom")
ANCHORS = ("top_left", "top", "top_right", "left", "center", "right", "bottom_left", "bottom", "bottom_right")
STYLE_KEYS = (
    "font_family",
    "font_size",
    "font_weight",
    "color",
    "background",
    "padding",
    "radius",
    "align",
    "shadow",
    "line_height",
    "gap",
)
# CSS values reach the page through the CSSOM (never as markup), but a stray ';' or brace still
# has no business in a colour or a size.
_CSS_VALUE_RE = re.compile(r"^[^;{}<>\\]{1,200}$")


def _css_value(value: Any) -> str | int | float:
    if isinstance(value, bool):
        raise vol.Invalid("expected a CSS value, got a boolean")
    if isinstance(value, int | float):
        return value
    text = str(value)
    if not _CSS_VALUE_RE.match(text):
        raise vol.Invalid(f"not a plain CSS value: {text!r} (no ';', braces, '<' or '>')")
    return text


def _seconds(value: Any) -> float:
    """8, 8.5, '8s', '500ms' → seconds (> 0)."""
    text = str(value).strip().lower()
    try:
        if text.endswith("ms"):
            seconds = float(text[:-2]) / 1000
        elif text.endswith("s"):
            seconds = float(text[:-1])
        else:
            seconds = float(text)
    except ValueError as err:
        raise vol.Invalid(f"expected seconds (e.g. 8, '8s' or '500ms'), got {value!r}") from err
    if not seconds > 0:
        raise vol.Invalid(f"expected a duration above 0, got {value!r}")
    return seconds


def _share(value: Any) -> float:
    """'50%' or 0.5 → 0.5: the most of any hour an item may be on screen."""
    text = str(value).strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError as err:
        raise vol.Invalid(f"expected a share like '25%' or 0.25, got {value!r}") from err
    if not 0 < share <= 1:
        raise vol.Invalid(f"a share of the hour is above 0 and at most 100%, got {value!r}")
    return share


def _relative_file(value: Any) -> str:
    """A path inside the pack folder, POSIX style; '..' and absolute paths are refused."""
    text = str(value).strip().replace("\\", "/")
    path = PurePosixPath(text)
    if not text or path.is_absolute() or ".." in path.parts or re.match(r"^[a-zA-Z]:", text):
        raise vol.Invalid(f"expected a file inside the overlay folder (like 'images/logo.png'), got {value!r}")
    return str(path)


def _id(value: Any) -> str:
    text = str(value)
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", text):
        raise vol.Invalid(f"an id is letters, digits, '_', '-' or '.', up to 64 characters, got {value!r}")
    return text


ANIMATION_SCHEMA = vol.Any(
    vol.All(str, vol.In(EFFECTS), lambda effect: {"effect": effect}),
    {
        vol.Optional("effect", default="fade"): vol.In(EFFECTS),
        vol.Optional("duration", default=0.4): vol.All(_seconds, vol.Range(max=10)),
        vol.Optional("easing", default="ease-out"): vol.In(("linear", "ease", "ease-in", "ease-out", "ease-in-out")),
    },
)
STYLE_SCHEMA = vol.Schema({vol.Optional(key): _css_value for key in STYLE_KEYS})
CONTENT_KEYS = {
    vol.Optional("text"): vol.Any(None, vol.All(vol.Coerce(str), vol.Length(max=2000))),
    vol.Optional("image"): vol.Any(None, str),
    vol.Optional("video"): vol.Any(None, str),
}
ITEM_SCHEMA = vol.Schema(
    {
        vol.Required("id"): _id,
        **CONTENT_KEYS,
        vol.Optional("duration", default=10.0): vol.All(_seconds, vol.Range(max=86400)),
        vol.Optional("weight", default=1): vol.All(vol.Coerce(float), vol.Range(min=0.001, max=1000)),
        vol.Optional("schedule", default=[]): vol.All(lambda v: v if isinstance(v, list) else [v], [WINDOW_SCHEMA]),
        vol.Optional("max_share_per_hour"): _share,
    }
)
SLOT_SCHEMA = vol.Schema(
    {
        vol.Optional("anchor", default="top_left"): vol.In(ANCHORS),
        vol.Optional("x", default=0): vol.Coerce(float),
        vol.Optional("y", default=0): vol.Coerce(float),
        vol.Required("width"): vol.All(vol.Coerce(float), vol.Range(min=1)),
        vol.Required("height"): vol.All(vol.Coerce(float), vol.Range(min=1)),
        vol.Optional("ignore_safe_area", default=False): bool,
        vol.Optional("layout", default="row"): vol.In(("row", "column", "stack")),
        vol.Optional("visible", default=True): bool,
        vol.Optional("style", default={}): STYLE_SCHEMA,
        vol.Optional("enter"): ANIMATION_SCHEMA,
        vol.Optional("exit"): ANIMATION_SCHEMA,
        **CONTENT_KEYS,
        vol.Optional("rotator"): {vol.Required("items"): vol.All([ITEM_SCHEMA], vol.Length(min=1))},
    }
)


def _insets(value: Any) -> dict[str, float]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {side: float(value) for side in ("top", "right", "bottom", "left")}
    return vol.Schema(
        {
            vol.Optional(side, default=0): vol.All(vol.Coerce(float), vol.Range(min=0))
            for side in ("top", "right", "bottom", "left")
        }
    )(value)


MANIFEST_SCHEMA = vol.Schema(
    {
        vol.Optional("title"): vol.Coerce(str),
        vol.Optional("description"): vol.Coerce(str),
        vol.Optional("enabled", default=True): bool,
        vol.Optional("canvas", default={}): {
            vol.Optional("width", default=1920): vol.All(vol.Coerce(int), vol.Range(min=16, max=7680)),
            vol.Optional("height", default=1080): vol.All(vol.Coerce(int), vol.Range(min=16, max=4320)),
        },
        vol.Optional("safe_area", default={}): _insets,
        vol.Optional("fonts", default=[]): [
            {
                vol.Required("family"): vol.All(str, vol.Match(r"^[A-Za-z0-9 _-]{1,64}$")),
                vol.Required("file"): _relative_file,
                vol.Optional("weight", default="400"): vol.All(vol.Coerce(str), vol.Match(r"^\d{3}$|^normal$|^bold$")),
                vol.Optional("style", default="normal"): vol.In(("normal", "italic")),
            }
        ],
        vol.Optional("images", default={}): {_id: _relative_file},
        vol.Optional("videos", default={}): {_id: _relative_file},
        vol.Optional("animations", default={}): {
            vol.Optional("enter"): ANIMATION_SCHEMA,
            vol.Optional("exit"): ANIMATION_SCHEMA,
        },
        vol.Optional("style", default={}): STYLE_SCHEMA,
        # What the page assumes inside OBS before OBS reports visibility (see docs/overlays.md).
        vol.Optional("obs_initially", default="visible"): vol.In(("visible", "hidden")),
        vol.Required("slots"): vol.All({_id: SLOT_SCHEMA}, vol.Length(min=1)),
    }
)

DEFAULT_ENTER = {"effect": "fade", "duration": 0.4, "easing": "ease-out"}
DEFAULT_EXIT = {"effect": "fade", "duration": 0.3, "easing": "ease-in"}


# --------------------------------------------------------------------------------------------------
# The validated model


@dataclass(frozen=True)
class Media:
    """An image or video reference resolved inside the pack: `path` relative to the folder."""

    path: str
    missing: bool

    def as_page(self) -> dict[str, Any]:
        return {"src": None if self.missing else f"assets/{self.path}", "missing": self.path if self.missing else None}


@dataclass
class Item:
    id: str
    text: str | None
    image: Media | None
    video: Media | None
    duration: float = 10.0
    weight: float = 1.0
    schedule: tuple[Window, ...] = ()
    max_share: float | None = None


@dataclass
class Slot:
    name: str
    rect: tuple[float, float, float, float]
    layout: str
    visible: bool
    style: dict[str, Any]
    enter: dict[str, Any]
    exit: dict[str, Any]
    static: Item | None
    items: list[Item] = field(default_factory=list)

    @property
    def has_rotator(self) -> bool:
        return bool(self.items)

    def as_page(self) -> dict[str, Any]:
        x, y, w, h = self.rect
        return {
            "rect": {"x": x, "y": y, "width": w, "height": h},
            "layout": self.layout,
            "style": self.style,
            "enter": self.enter,
            "exit": self.exit,
        }


@dataclass
class OverlayManifest:
    name: str
    file: str
    folder: Path
    title: str
    description: str
    enabled: bool
    width: int
    height: int
    safe_area: dict[str, float]
    fonts: list[dict[str, Any]]
    slots: dict[str, Slot]
    obs_initially: str
    images: dict[str, str] = field(default_factory=dict)
    videos: dict[str, str] = field(default_factory=dict)
    warnings: list[ConfigError] = field(default_factory=list)

    def resolve_media(self, ref: str, kind: str) -> Media:
        """A name under images:/videos: or a file in the pack (for overlay.update); ValueError if neither."""
        named = self.images if kind == "image" else self.videos
        if ref in named:
            relative = named[ref]
        else:
            try:
                relative = _relative_file(ref)
            except vol.Invalid as err:
                raise ValueError(f"{kind} {ref!r}: {err.msg}") from err
            if "/" not in relative and "." not in relative:
                known = ", ".join(sorted(named)) or "none defined"
                raise ValueError(f"unknown {kind} {ref!r}: not a name under '{kind}s:' ({known}) nor a file")
        return Media(relative, not (self.folder / relative).is_file())

    def item(self, item_id: str) -> tuple[Slot, Item] | None:
        for slot in self.slots.values():
            for item in (*slot.items, *([slot.static] if slot.static else [])):
                if item.id == item_id:
                    return slot, item
        return None

    def as_page(self) -> dict[str, Any]:
        """What the page needs to lay itself out (no file system paths, no key)."""
        return {
            "name": self.name,
            "title": self.title,
            "canvas": {"width": self.width, "height": self.height},
            "safe_area": self.safe_area,
            "fonts": [{**font, "src": None if font["missing"] else f"assets/{font['file']}"} for font in self.fonts],
            "obs_initially": self.obs_initially,
            "slots": {name: slot.as_page() for name, slot in self.slots.items()},
        }


def find_manifest(folder: Path) -> Path | None:
    for name in MANIFEST_FILES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def load_manifest(folder: Path, config_dir: Path) -> OverlayManifest:
    """Load and check one overlay folder; raises ConfigErrors (each `FILE:LINE: message`)."""
    name = folder.name
    path = find_manifest(folder)
    if path is None:
        shown = _display(folder, config_dir)
        raise ConfigErrors([ConfigError(f"no {' / '.join(MANIFEST_FILES)} in this overlay folder", shown)])
    if not NAME_RE.match(name):
        raise ConfigErrors(
            [
                ConfigError(
                    f"overlay folder name {name!r} must be lower-case letters, digits, '_' or '-' (it is part of"
                    " the URL)",
                    _display(path, config_dir),
                    1,
                )
            ]
        )
    try:
        raw = load_yaml(path, config_dir)
    except ConfigError as err:
        raise ConfigErrors([err]) from err
    shown = _display(path, config_dir)
    if not isinstance(raw, Mapping):
        raise ConfigErrors([ConfigError("an overlay manifest is a mapping (canvas:, slots:, ...)", shown, 1)])
    data, errors = validate(MANIFEST_SCHEMA, raw, domain="manifest")
    if errors:
        raise ConfigErrors(errors)
    return _build(name, path, shown, folder, raw, data)


def _display(path: Path, config_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(config_dir.resolve()))
    except ValueError:
        return str(path)


def _build(name: str, path: Path, shown: str, folder: Path, raw: Any, data: dict[str, Any]) -> OverlayManifest:
    errors: list[ConfigError] = []
    warnings: list[ConfigError] = []

    def at(*where: Any) -> tuple[str | None, int | None]:
        file, line = location_of(raw, list(where))
        return file or shown, line

    def media(ref: str | None, kind: str, where: tuple[Any, ...]) -> Media | None:
        if ref is None:
            return None
        named = data["images" if kind == "image" else "videos"]
        if ref in named:
            relative = named[ref]
        else:
            try:
                relative = _relative_file(ref)
            except vol.Invalid as err:
                errors.append(ConfigError(f"{kind} {ref!r}: {err.msg}", *at(*where)))
                return None
            if "/" not in relative and "." not in relative:
                known = ", ".join(sorted(named)) or "none defined"
                errors.append(
                    ConfigError(
                        f"unknown {kind} {ref!r}: not a name under '{kind}s:' ({known}) nor a file", *at(*where)
                    )
                )
                return None
        missing = not (folder / relative).is_file()
        if missing:
            warnings.append(
                ConfigError(f"{kind} file {relative!r} not found in {folder.name}/: showing a placeholder", *at(*where))
            )
        return Media(relative, missing)

    width, height = data["canvas"]["width"], data["canvas"]["height"]
    safe = data["safe_area"]
    safe_box = (safe["left"], safe["top"], width - safe["left"] - safe["right"], height - safe["top"] - safe["bottom"])
    if safe_box[2] <= 0 or safe_box[3] <= 0:
        errors.append(ConfigError(f"safe_area leaves no room on a {width}x{height} canvas", *at("safe_area")))

    fonts = []
    for index, font in enumerate(data["fonts"]):
        missing = not (folder / font["file"]).is_file()
        if missing:
            warnings.append(
                ConfigError(
                    f"font file {font['file']!r} not found: the page falls back to the system font",
                    *at("fonts", index, "file"),
                )
            )
        fonts.append({**font, "missing": missing})

    defaults = data["animations"]
    base_style = data["style"]
    seen_ids: dict[str, tuple[str | None, int | None]] = {}
    slots: dict[str, Slot] = {}
    for slot_name, spec in data["slots"].items():
        rect = _place(spec, safe_box)
        x, y, w, h = rect
        if x < 0 or y < 0 or x + w > width or y + h > height:
            errors.append(
                ConfigError(
                    f"slot '{slot_name}' ({w:g}x{h:g} at {x:g},{y:g}) does not fit the {width}x{height} canvas",
                    *at("slots", slot_name),
                )
            )
        elif not spec["ignore_safe_area"] and (
            x < safe_box[0] - 0.5
            or y < safe_box[1] - 0.5
            or x + w > safe_box[0] + safe_box[2] + 0.5
            or y + h > safe_box[1] + safe_box[3] + 0.5
        ):
            warnings.append(
                ConfigError(
                    f"slot '{slot_name}' reaches outside the safe area (set ignore_safe_area: true if intended)",
                    *at("slots", slot_name),
                )
            )
        has_static = any(spec.get(key) is not None for key in ("text", "image", "video"))
        if has_static and "rotator" in spec:
            errors.append(
                ConfigError(
                    f"slot '{slot_name}' has both static content (text/image/video) and a rotator: choose one",
                    *at("slots", slot_name, "rotator"),
                )
            )
        items: list[Item] = []
        for index, item_spec in enumerate((spec.get("rotator") or {}).get("items", [])):
            where = ("slots", slot_name, "rotator", "items", index)
            item = Item(
                id=item_spec["id"],
                text=item_spec.get("text"),
                image=media(item_spec.get("image"), "image", (*where, "image")),
                video=media(item_spec.get("video"), "video", (*where, "video")),
                duration=item_spec["duration"],
                weight=item_spec["weight"],
                schedule=tuple(build_window(w) for w in item_spec["schedule"]),
                max_share=item_spec.get("max_share_per_hour"),
            )
            _unique(item.id, at(*where, "id"), seen_ids, errors)
            items.append(item)
        static = None
        if not items:
            static = Item(
                id=slot_name,
                text=spec.get("text"),
                image=media(spec.get("image"), "image", ("slots", slot_name, "image")),
                video=media(spec.get("video"), "video", ("slots", slot_name, "video")),
            )
            _unique(slot_name, at("slots", slot_name), seen_ids, errors)
        slots[slot_name] = Slot(
            name=slot_name,
            rect=rect,
            layout=spec["layout"],
            visible=spec["visible"],
            style={**base_style, **spec["style"]},
            enter={**DEFAULT_ENTER, **defaults.get("enter", {}), **spec.get("enter", {})},
            exit={**DEFAULT_EXIT, **defaults.get("exit", {}), **spec.get("exit", {})},
            static=static,
            items=items,
        )
    if errors:
        raise ConfigErrors(errors)
    return OverlayManifest(
        name=name,
        file=shown,
        folder=folder,
        title=str(data.get("title") or name),
        description=str(data.get("description") or ""),
        enabled=data["enabled"],
        width=width,
        height=height,
        safe_area=safe,
        fonts=fonts,
        slots=slots,
        obs_initially=data["obs_initially"],
        images=dict(data["images"]),
        videos=dict(data["videos"]),
        warnings=warnings,
    )


def _unique(
    item_id: str,
    where: tuple[str | None, int | None],
    seen: dict[str, tuple[str | None, int | None]],
    errors: list[ConfigError],
) -> None:
    """Impressions are logged per item id, so two items (or a slot and an item) may not share one."""
    if item_id in seen:
        first = seen[item_id]
        errors.append(
            ConfigError(
                f"id '{item_id}' is used twice (first at line {first[1]}): impressions are counted per id",
                *where,
            )
        )
    else:
        seen[item_id] = where


def _place(spec: dict[str, Any], safe_box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Anchor + offset inside the safe area → absolute (x, y, width, height) on the canvas.

    Offsets point inward from the anchored edge, so `anchor: bottom_right, x: 20` sits 20 px left
    of the safe area's right edge.
    """
    left, top, width, height = safe_box
    w, h = spec["width"], spec["height"]
    anchor = spec["anchor"]
    if anchor.endswith("left") or anchor == "left":
        x = left + spec["x"]
    elif anchor.endswith("right") or anchor == "right":
        x = left + width - w - spec["x"]
    else:
        x = left + (width - w) / 2 + spec["x"]
    if anchor.startswith("top"):
        y = top + spec["y"]
    elif anchor.startswith("bottom"):
        y = top + height - h - spec["y"]
    else:
        y = top + (height - h) / 2 + spec["y"]
    return (round(x, 2), round(y, 2), w, h)
