"""Text that lives next to a recording: a `.json`/`.txt` sidecar and `.srt`/`.vtt` captions.

Both become searchable. A JSON sidecar contributes every string value (titles, game, notes,
markers' labels) and, when it has a `tags` list, those tags. Files are capped at 1 MiB: a sidecar is
metadata, not a payload.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

MAX_BYTES = 1024 * 1024
_CAPTION_SKIP = re.compile(r"^(\d+|WEBVTT.*|NOTE.*|[\d:.,]+\s*-->\s*[\d:.,]+.*)$")
_CAPTION_TAGS = re.compile(r"<[^>]+>")


def _read(path: str) -> str | None:
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return None
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def _candidates(media: str, suffixes: tuple[str, ...]) -> list[str]:
    stem, _ext = os.path.splitext(media)
    return [base + suffix for suffix in suffixes for base in (media, stem)]


def _strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        if value.strip():
            out.append(value.strip())
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return


def read_sidecar(media: str) -> tuple[str, list[str]]:
    """(searchable text, tags) from the first sidecar found next to `media`. Blocking."""
    for path in _candidates(media, (".json", ".txt")):
        if path == media:
            continue
        text = _read(path)
        if text is None:
            continue
        if path.endswith(".json"):
            try:
                data = json.loads(text)
            except ValueError:
                return text.strip(), []
            strings: list[str] = []
            _strings(data, strings)
            tags = data.get("tags") if isinstance(data, dict) else None
            tag_list = [str(t).strip() for t in tags if str(t).strip()] if isinstance(tags, list) else []
            return "\n".join(strings), tag_list
        return text.strip(), []
    return "", []


def read_captions(media: str) -> str:
    """Caption text (cue numbers, timings and markup removed) from a .srt/.vtt beside `media`."""
    for path in _candidates(media, (".srt", ".vtt")):
        text = _read(path)
        if text is None:
            continue
        lines = [_CAPTION_TAGS.sub("", line).strip() for line in text.splitlines()]
        return "\n".join(line for line in lines if line and not _CAPTION_SKIP.match(line))
    return ""
