"""Creating backups: one zip in `<data>/backup` with the config, a consistent database copy and overlay packs.

The database is copied with SQLite's online backup API on a connection of its own: in WAL mode the
copy reads one snapshot while the running hub keeps writing, so a backup never needs the hub to
stop (and works the same when no hub runs). The copy is `PRAGMA integrity_check`ed before it goes
into the zip, so a backup that completes is a backup that restores.

Zip layout (`manifest.json` says what is inside and which version made it)::

    manifest.json
    config/...              the configuration directory (configuration.yaml, secrets.yaml, automations, overlays/ packs)
    db/streamops.db         the database (states, assets index, jobs journal, tokens, settings, traces)
    data/overlays/...       the overlay key secret (overlay URLs with keys keep working after a restore)
    overlay_packs/...       overlay packs configured outside the config directory (absolute `overlays: directory`)

Not included: recordings, thumbnails, cache and logs (large, and rebuilt from the recordings).
The zip holds `secrets.yaml`: it is written with mode 0600; keep copies somewhere private.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB_MEMBER = "db/streamops.db"
BACKUP_PREFIX = "streamops-backup-"
SAFETY_PREFIX = "streamops-pre-restore-"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.zip$")
# Folders of the config dir that are never backed up (caches other tools leave there).
_SKIP_DIRS = {"__pycache__", ".git", ".cache", ".storage-tmp"}
_SKIP_SUFFIXES = (".db", ".db-wal", ".db-shm", ".tmp", ".pyc")


class BackupError(Exception):
    """A backup could not be made; the message names the file and the cause."""


@dataclass(frozen=True)
class Locations:
    """Where one installation keeps what a backup holds."""

    data_dir: Path
    config_dir: Path
    db_path: Path
    overlay_packs: Path | None = None  # only when configured outside config_dir

    @property
    def backup_dir(self) -> Path:
        return self.data_dir / "backup"

    @property
    def overlay_data(self) -> Path:
        return self.data_dir / "overlays"


def locations_for(
    data_dir: Path, config_dir: Path | None = None, db_path: Path | None = None, sections: dict[str, Any] | None = None
) -> Locations:
    """Resolve the paths the way the hub does (`recorder: db_path`, `overlays: directory`)."""
    config_dir = (config_dir or data_dir / "config").resolve()
    sections = sections or {}
    if db_path is None:
        configured = (sections.get("recorder") or {}).get("db_path") or os.environ.get("DB_PATH")
        db_path = Path(configured) if configured else data_dir / "db" / "streamops.db"
    packs: Path | None = None
    folder = (sections.get("overlays") or {}).get("directory")
    if folder:
        resolved = (config_dir / folder).resolve()
        if not resolved.is_relative_to(config_dir):
            packs = resolved
    return Locations(data_dir.resolve(), config_dir, db_path.resolve(), packs)


def backup_name(prefix: str = BACKUP_PREFIX, label: str | None = None, now: float | None = None) -> str:
    stamp = datetime.fromtimestamp(now or time.time(), UTC).strftime("%Y%m%d-%H%M%S")
    suffix = ""
    if label:
        suffix = "-" + re.sub(r"[^A-Za-z0-9_-]+", "_", label).strip("_")[:40]
    return f"{prefix}{stamp}{suffix}.zip"


def _unique(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def copy_database(source: Path, target: Path) -> dict[str, Any]:
    """Consistent copy of a live (or idle) database; returns schema versions and row counts."""
    if not source.is_file():
        raise BackupError(f"database {source} does not exist (has the hub ever run with this data dir?)")
    with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(target)) as dst:
        src.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)  # pages=-1: one step, one read snapshot (WAL: writers are not blocked)
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the database copy of {source} failed its integrity check: {check}")
        return database_summary(dst)


def database_summary(conn: sqlite3.Connection) -> dict[str, Any]:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    schema: dict[str, int] = {}
    if "so_schema" in tables:
        for component, version in conn.execute("SELECT component, MAX(version) FROM so_schema GROUP BY component"):
            schema[str(component)] = int(version)
    counts = {}
    for table in ("so_assets", "so_jobs", "so_states_current", "so_tokens", "so_overlays"):
        if table in tables:
            counts[table] = int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    return {"schema": schema, "counts": counts}


def _walk(folder: Path) -> Iterator[Path]:
    """Files under folder (symlinks followed only when they stay inside), sorted, skipping caches."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if name.endswith(_SKIP_SUFFIXES):
                continue
            path = Path(root) / name
            if path.is_symlink() and not path.resolve().is_relative_to(folder.resolve()):
                continue
            if path.is_file():
                yield path


def create_backup(
    where: Locations,
    *,
    output: Path | None = None,
    label: str | None = None,
    prefix: str = BACKUP_PREFIX,
    hub_running: bool | None = None,
) -> Path:
    """Write the zip (to a temporary name, renamed when complete) and return its path."""
    target_dir = output if output is not None and output.is_dir() else (output.parent if output else where.backup_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = _unique(output if output is not None and not output.is_dir() else target_dir / backup_name(prefix, label))
    if not where.config_dir.is_dir():
        raise BackupError(f"config directory {where.config_dir} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=".backup-", suffix=".zip.tmp", dir=target_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with tempfile.TemporaryDirectory(dir=target_dir, prefix=".backup-db-") as scratch:
            db_copy = Path(scratch) / "streamops.db"
            db_info = copy_database(where.db_path, db_copy)
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
                counts = {"config": 0, "overlay_data": 0, "overlay_packs": 0}
                for path in _walk(where.config_dir):
                    zf.write(path, f"config/{path.relative_to(where.config_dir).as_posix()}")
                    counts["config"] += 1
                if where.overlay_data.is_dir():
                    for path in _walk(where.overlay_data):
                        zf.write(path, f"data/overlays/{path.relative_to(where.overlay_data).as_posix()}")
                        counts["overlay_data"] += 1
                if where.overlay_packs is not None and where.overlay_packs.is_dir():
                    for path in _walk(where.overlay_packs):
                        zf.write(path, f"overlay_packs/{path.relative_to(where.overlay_packs).as_posix()}")
                        counts["overlay_packs"] += 1
                zf.write(db_copy, DB_MEMBER)
                manifest = {
                    "format": FORMAT_VERSION,
                    "app": "streamops",
                    "version": __version__,
                    "created": datetime.now(UTC).isoformat(timespec="seconds"),
                    "host": socket.gethostname(),
                    "hub_running": hub_running,
                    "database": {"member": DB_MEMBER, **db_info},
                    "files": counts,
                    "overlay_packs_path": str(where.overlay_packs) if where.overlay_packs else None,
                }
                zf.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
        os.chmod(tmp, 0o600)  # secrets.yaml and API token hashes are inside
        if os.geteuid() == 0:
            # `docker exec` runs as root: the zip belongs to whoever owns the folder (the hub's user),
            # or the hub could not list or restore it.
            owner = target_dir.stat()
            os.chown(tmp, owner.st_uid, owner.st_gid)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def list_backups(backup_dir: Path) -> list[dict[str, Any]]:
    """Every zip in the backup folder, newest first, with what its manifest says (or why it cannot)."""
    if not backup_dir.is_dir():
        return []
    found = []
    for path in backup_dir.glob("*.zip"):
        if not NAME_RE.match(path.name):
            continue
        st = path.stat()
        entry: dict[str, Any] = {
            "name": path.name,
            "size": st.st_size,
            "modified": st.st_mtime,
            "kind": "pre-restore" if path.name.startswith(SAFETY_PREFIX) else "backup",
        }
        try:
            with zipfile.ZipFile(path) as zf:
                manifest = json.loads(zf.read(MANIFEST))
            entry.update(
                version=manifest.get("version"),
                created=manifest.get("created"),
                format=manifest.get("format"),
                counts=(manifest.get("database") or {}).get("counts"),
            )
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
            entry["error"] = f"not a readable StreamOps backup: {err}"
        found.append(entry)
    return sorted(found, key=lambda e: (e["modified"], e["name"]), reverse=True)


def prune_backups(backup_dir: Path, keep: int) -> list[str]:
    """Delete the oldest regular backups beyond `keep` (safety copies made by restores are left)."""
    regular = [e for e in list_backups(backup_dir) if e["name"].startswith(BACKUP_PREFIX)]
    removed = []
    for entry in regular[keep:]:
        (backup_dir / entry["name"]).unlink(missing_ok=True)
        removed.append(entry["name"])
    return removed


def resolve_backup(backup_dir: Path, name: str) -> Path:
    """A backup file by name, never outside the backup folder."""
    if not NAME_RE.match(name) or "/" in name or "\\" in name:
        raise BackupError(f"invalid backup name {name!r} (expected a .zip file name from /api/backups)")
    path = backup_dir / name
    if not path.is_file():
        raise BackupError(f"no backup named {name!r} in {backup_dir}")
    return path
