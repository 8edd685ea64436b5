"""Small helpers shared by the core: time formatting and identifiers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

ENTITY_ID_RE = re.compile(r"^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$")


def iso_utc(timestamp: float) -> str:
    """Timestamp → ISO 8601 with offset, the format Home Assistant clients parse."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def valid_entity_id(entity_id: str) -> bool:
    return bool(ENTITY_ID_RE.match(entity_id))


def split_entity_id(entity_id: str) -> tuple[str, str]:
    domain, _, object_id = entity_id.partition(".")
    return domain, object_id


_SLUG_RE = re.compile(r"[^a-z0-9_]+")


def slugify(text: str) -> str:
    """'My Drive 2' → 'my_drive_2' (entity object ids)."""
    slug = _SLUG_RE.sub("_", text.lower()).strip("_")
    return re.sub(r"_+", "_", slug) or "unnamed"
