"""Writing automations back to the YAML file they came from, keeping comments and layout.

ruamel.yaml's round-trip mode keeps comments, key order, quoting and the `!include`/`!secret`
tags of the files it rewrites; an edited automation is updated in place (so the comments on and
around it survive), a new one is appended to the file that holds the `automation:` list, and
every write goes to a temporary file renamed over the original (a crash never leaves half a file).

Where writes go:
- an automation from the user's files: that file (the list in it, or the `automation:` key when
  the list is inline in configuration.yaml; a file holding one automation is rewritten whole);
- a new automation, or an edit of a shipped default (an override with the same id): the file of
  `automation: !include FILE` (created if missing); without an `automation:` key, one is added to
  configuration.yaml as `automation: !include automations.yaml`;
- with `!include_dir_list`/`!include_dir_merge_list DIR`: a new file `DIR/<id>.yaml`.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar

from ..core.util import slugify

CONFIG_FILE = "configuration.yaml"


class StoreError(Exception):
    """The write cannot be done (file layout not understood, unsafe path); message for the user."""


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 120
    return yaml


def _read(path: Path) -> Any:
    if not path.exists():
        return None
    return _yaml().load(path.read_text(encoding="utf-8"))


def _write(path: Path, data: Any) -> None:
    buffer = io.StringIO()
    _yaml().dump(data, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _item_id(item: Any) -> str | None:
    if not isinstance(item, Mapping):
        return None
    if "id" in item:
        return str(item["id"])
    name = item.get("alias") or item.get("name")
    return slugify(str(name)) if name else None


def _to_commented(value: Any) -> Any:
    if isinstance(value, Mapping):
        out = CommentedMap()
        for key, item in value.items():
            out[key] = _to_commented(item)
        return out
    if isinstance(value, list | tuple):
        return CommentedSeq([_to_commented(v) for v in value])
    return value


def _update_in_place(target: CommentedMap, new: Mapping[str, Any]) -> None:
    """Make `target` equal to `new`, keeping unchanged values (and their comments) untouched."""
    for key in list(target):
        if key not in new:
            del target[key]
    for key, value in new.items():
        if key in target and _plain(target[key]) == value:
            continue
        target[key] = _to_commented(value)


def _plain(value: Any) -> Any:
    if isinstance(value, TaggedScalar):
        return f"{value.tag.value} {value.value}"
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class AutomationStore:
    def __init__(self, config_dir: Path) -> None:
        self.config_dir = Path(config_dir).resolve()

    def _inside(self, path: Path) -> Path:
        resolved = (self.config_dir / path).resolve()
        if not resolved.is_relative_to(self.config_dir):
            raise StoreError(f"refusing to write {path}: outside the configuration directory")
        return resolved

    # -- where new automations go -------------------------------------------------------------------
    def target_for_new(self, automation_id: str) -> tuple[Path, bool]:
        """(file, inline) for a new automation; `inline` = the list is configuration.yaml's key."""
        config_path = self.config_dir / CONFIG_FILE
        config = _read(config_path)
        if config is None:
            config = CommentedMap()
        if not isinstance(config, Mapping):
            raise StoreError(f"{CONFIG_FILE} is not a mapping; cannot add an automation")
        section = config.get("automation")
        if "automation" not in config:
            config["automation"] = TaggedScalar("automations.yaml", tag="!include")
            _write(config_path, config)
            return self._inside(Path("automations.yaml")), False
        if isinstance(section, TaggedScalar):
            tag, arg = section.tag.value, str(section.value).strip()
            if tag == "!include":
                return self._inside(Path(arg)), False
            if tag in ("!include_dir_list", "!include_dir_merge_list"):
                folder = self._inside(Path(arg))
                return folder / f"{slugify(automation_id)}.yaml", False
            raise StoreError(f"'automation: {tag} {arg}' is not a layout new automations can be written to")
        if section is None or isinstance(section, list):
            return config_path, True
        raise StoreError("'automation:' in configuration.yaml is neither a list nor an !include")

    # -- writes ------------------------------------------------------------------------------------------
    def upsert(self, file: Path, automation_id: str, item: Mapping[str, Any], *, inline: bool = False) -> Path:
        """Replace the automation with this id in `file` (or append it); returns the file written."""
        path = self._inside(file)
        data = _read(path)
        if inline:
            if data is None or "automation" not in data:
                raise StoreError(f"{file}: no 'automation:' key")
            if data["automation"] is None:
                data["automation"] = CommentedSeq()
            items = data["automation"]
        elif data is None:
            data = items = CommentedSeq()
        elif isinstance(data, Mapping) and "automation" in data and isinstance(data["automation"], list):
            items = data["automation"]
        elif isinstance(data, Mapping):  # a file holding exactly one automation
            if _item_id(data) not in (automation_id, None):
                data = items = CommentedSeq([data])
            else:
                _update_in_place(data, item)  # type: ignore[arg-type]
                _write(path, data)
                return path
        elif isinstance(data, list):
            items = data
        else:
            raise StoreError(f"{file} does not hold a list of automations")
        for existing in items:
            if _item_id(existing) == automation_id and isinstance(existing, CommentedMap):
                _update_in_place(existing, item)
                break
        else:
            items.append(_to_commented(item))
        _write(path, data)
        return path

    def delete(self, file: Path, automation_id: str) -> bool:
        path = self._inside(file)
        data = _read(path)
        if isinstance(data, Mapping) and "automation" in data and isinstance(data["automation"], list):
            items = data["automation"]
        elif isinstance(data, Mapping):
            if _item_id(data) == automation_id:
                path.unlink()
                return True
            return False
        elif isinstance(data, list):
            items = data
        else:
            return False
        for index, existing in enumerate(items):
            if _item_id(existing) == automation_id:
                del items[index]
                _write(path, data)
                return True
        return False

    def snapshot(self, file: Path) -> bytes | None:
        path = self._inside(file)
        return path.read_bytes() if path.exists() else None

    def restore(self, file: Path, content: bytes | None) -> None:
        path = self._inside(file)
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(content)
