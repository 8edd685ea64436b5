"""Glob patterns for `watch:` / `ignore:` / `path_glob:`, with `**` spanning folders.

Python 3.11's `PurePath.match` has no recursive `**`, and `fnmatch` lets `*` cross `/`, so both would
match the wrong files. Rules (the ones .gitignore users know):

- patterns are matched against the path relative to the drive root, with `/` separators;
- `*` and `?` never cross a `/`; `**` matches any number of folders (also none);
- a pattern without a `/` matches the file name at any depth (`*.mkv` = `**/*.mkv`);
- an absolute pattern is matched against the absolute path;
- matching is case-insensitive unless asked otherwise (Windows hosts produce `.MKV` as often as `.mkv`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


def _translate(pattern: str) -> str:
    """One glob → a regex body (without anchors)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                # '**/' → zero or more folders; a trailing '**' → anything below.
                if pattern.startswith("**/", i):
                    out.append("(?:.*/)?")
                    i += 3
                    continue
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
                continue
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def compile_glob(pattern: str, case_sensitive: bool = False) -> re.Pattern[str]:
    """Compile a glob; raises ValueError naming the pattern when it cannot be used."""
    if not pattern or not pattern.strip():
        raise ValueError("empty glob pattern")
    normalized = pattern.replace("\\", "/")
    if normalized.startswith("./"):
        normalized = normalized[2:]
    if "/" not in normalized.rstrip("/"):
        normalized = "**/" + normalized
    body = _translate(normalized.rstrip("/"))
    try:
        return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE)
    except re.error as err:
        raise ValueError(f"invalid glob pattern {pattern!r}: {err}") from err


def glob_validator(value: object) -> list[str]:
    """voluptuous validator: a glob or a list of globs, each compiled once to catch mistakes early."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError("expected a glob pattern or a list of glob patterns")
    for item in items:
        compile_glob(item)
    return list(items)


class PathFilter:
    """Decides which files of a drive are watched: matches any `watch` glob and no `ignore` glob.

    An ignore pattern also excludes whole folders (`.Trash-1000`, `@eaDir`), checked on every parent.
    """

    def __init__(self, watch: Iterable[str], ignore: Iterable[str], case_sensitive: bool = False) -> None:
        self.watch = [compile_glob(p, case_sensitive) for p in watch]
        self.ignore = [compile_glob(p, case_sensitive) for p in ignore]

    def ignored(self, relative: str) -> bool:
        """True when the path or one of its parent folders matches an ignore pattern."""
        parts = relative.split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if any(pattern.match(prefix) for pattern in self.ignore):
                return True
        return False

    def dir_ignored(self, relative: str) -> bool:
        """For a scan: skip descending into a folder that is itself ignored."""
        return any(pattern.match(relative) for pattern in self.ignore)

    def wanted(self, relative: str) -> bool:
        return any(pattern.match(relative) for pattern in self.watch) and not self.ignored(relative)


def match_any(patterns: Iterable[str], path: str, relative: str | None, case_sensitive: bool = False) -> bool:
    """For trigger filters: an absolute pattern is matched on the absolute path, others on `relative`."""
    for pattern in patterns:
        normalized = pattern.replace("\\", "/")
        target = path if normalized.startswith("/") or relative is None else relative
        if compile_glob(pattern, case_sensitive).match(target.replace("\\", "/")):
            return True
    return False
