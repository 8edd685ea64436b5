"""Turning `GET /api/assets?q=…&codec=…` into one SQL query.

As-you-type: every whitespace-separated word of `q` is a prefix (`eld rin` finds "Elden Ring"), and
each must match somewhere — in the stemmed index (`so_assets_fts`: "run" finds "running", sidecar
and captions included) or the unstemmed one (`so_assets_words`: "speedrunn" still finds
"speedrunning"). User text never reaches FTS syntax: each word is quoted as an FTS string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_TERMS = 8
MAX_COUNT = 10_000  # beyond this a filtered search reports "10,000+" instead of counting every row

SORTS = {
    "recent": "a.mtime DESC, a.id DESC",
    "oldest": "a.mtime ASC, a.id ASC",
    "name": "a.name COLLATE NOCASE ASC, a.id ASC",
    "duration": "a.duration DESC, a.id DESC",
    "size": "a.size DESC, a.id DESC",
}

LIST_COLUMNS = (
    "a.id, a.path, a.name, a.folder, a.ext, a.drive, a.size, a.mtime, a.status, a.error, a.duration, a.container,"
    " a.video_codec, a.audio_codec, a.width, a.height, a.fps, a.bit_rate, a.stream_count, a.xxh64, a.sha256,"
    " a.tags, a.created, a.indexed_at"
)

_WORD = re.compile(r"\w", re.UNICODE)


class SearchError(ValueError):
    """A bad search parameter; the message names it."""


def fts_terms(query: str) -> list[str]:
    """User text → quoted FTS prefix terms; words without a letter or digit are dropped."""
    terms = []
    for word in query.split():
        if not _WORD.search(word):
            continue
        terms.append('"' + word.replace('"', '""') + '"*')
    return terms[:MAX_TERMS]


def parse_time(name: str, value: str) -> float:
    """Epoch seconds, or an ISO 8601 date / date-time (UTC when no offset is given)."""
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise SearchError(
            f"{name}: expected an ISO date (2024-05-01), date-time or epoch seconds, not {value!r}"
        ) from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _number(name: str, value: str, minimum: float | None = None) -> float:
    try:
        number = float(value)
    except ValueError as err:
        raise SearchError(f"{name}: expected a number, not {value!r}") from err
    if minimum is not None and number < minimum:
        raise SearchError(f"{name}: must be at least {minimum:g}")
    return number


@dataclass
class SearchQuery:
    where: str
    params: list[Any]
    order: str
    limit: int
    offset: int
    # The page query: for the mtime sorts, matching ids are checked while walking the mtime index
    # (`+a.id` keeps SQLite from looking up every match by id and sorting them all: 1 s → ms for a
    # 3-letter prefix that matches 7,000 of 100,000 rows).
    page_where: str = ""
    # Text-only searches are counted on the FTS rowid sets alone, without touching so_assets.
    text_sets: str = ""
    text_params: int = 0  # the first `text_params` params belong to the text clauses
    text_only: bool = False


def build_search(args: dict[str, Any]) -> SearchQuery:
    """Validate the filters (strings from a query string, or typed values from a service call)."""
    clauses: list[str] = []
    params: list[Any] = []
    known = {"q", "drive", "codec", "min_duration", "max_duration", "tag", "since", "until", "status",
             "limit", "offset", "sort", "path", "container"}  # fmt: skip
    unknown = sorted(set(args) - known)
    if unknown:
        raise SearchError(f"unknown parameter {', '.join(unknown)} (known: {', '.join(sorted(known))})")

    def text(name: str) -> str | None:
        value = args.get(name)
        return None if value is None or str(value).strip() == "" else str(value).strip()

    text_sets: list[str] = []
    if (q := text("q")) is not None:
        terms = fts_terms(q)
        if not terms:
            raise SearchError("q: type at least one letter or digit")
        for term in terms:
            union = (
                "SELECT rowid FROM so_assets_fts WHERE so_assets_fts MATCH ?"
                " UNION SELECT rowid FROM so_assets_words WHERE so_assets_words MATCH ?"
            )
            clauses.append(f"a.id IN ({union})")
            text_sets.append(f"SELECT rowid FROM ({union})")
            params += [term, term]
    if (drive := text("drive")) is not None:
        clauses.append("a.drive = ?")
        params.append(drive)
    if (codec := text("codec")) is not None:
        clauses.append("(a.video_codec = ? OR a.audio_codec = ?)")
        params += [codec.lower(), codec.lower()]
    if (container := text("container")) is not None:
        clauses.append("a.container = ?")
        params.append(container.lower())
    if (value := text("min_duration")) is not None:
        clauses.append("a.duration >= ?")
        params.append(_number("min_duration", value, 0))
    if (value := text("max_duration")) is not None:
        clauses.append("a.duration <= ?")
        params.append(_number("max_duration", value, 0))
    if (tag := text("tag")) is not None:
        clauses.append("EXISTS (SELECT 1 FROM json_each(a.tags) WHERE json_each.value = ?)")
        params.append(tag)
    if (value := text("since")) is not None:
        clauses.append("a.mtime >= ?")
        params.append(parse_time("since", value))
    if (value := text("until")) is not None:
        clauses.append("a.mtime < ?")
        params.append(parse_time("until", value))
    if (status := text("status")) is not None:
        if status not in ("ok", "error"):
            raise SearchError("status: expected ok or error")
        clauses.append("a.status = ?")
        params.append(status)
    if (path := text("path")) is not None:
        clauses.append("a.path = ?")
        params.append(path)
    sort = text("sort") or "recent"
    if sort not in SORTS:
        raise SearchError(f"sort: expected one of {', '.join(SORTS)}")
    limit = int(_number("limit", str(args.get("limit") or DEFAULT_LIMIT), 1))
    offset = int(_number("offset", str(args.get("offset") or 0), 0))
    where = " AND ".join(clauses) or "1"
    page_where = where.replace("a.id IN (", "+a.id IN (") if sort in ("recent", "oldest") else where
    return SearchQuery(
        where=where,
        params=params,
        order=SORTS[sort],
        limit=min(limit, MAX_LIMIT),
        offset=offset,
        page_where=page_where,
        text_sets=" INTERSECT ".join(text_sets),
        text_params=2 * len(text_sets),
        text_only=bool(text_sets) and len(clauses) == len(text_sets),
    )
