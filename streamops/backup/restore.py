"""Restoring a backup: validate everything first, keep the current state as a safety copy, then replace.

Validation happens on an extracted copy before anything of the installation is touched:

1. the file is a zip whose members pass their CRC check, with no absolute or `..` names;
2. `manifest.json` exists, is a StreamOps manifest of a format this version reads, and the
   members it names are there;
3. the database passes `PRAGMA integrity_check` and has the schema table;
4. the configuration passes `check-config` (every error listed as `config/FILE:LINE: message`).

Only then: a safety copy of the current state (`streamops-pre-restore-<time>.zip`, itself a
normal backup that `streamops restore` takes back), then the config folder's contents, the
database (its stale `-wal`/`-shm` removed first, or SQLite would replay the old WAL into the new
file) and the overlay data are replaced.

A running hub holds the database open, so a restore is applied while no hub runs: the CLI
refuses when one answers on the configured port; the API *stages* the restore
(`backup/pending-restore.json`) and it is applied at the next start (the container's entrypoint
runs `streamops restore --pending` before starting the hub).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .archive import (
    DB_MEMBER,
    FORMAT_VERSION,
    MANIFEST,
    SAFETY_PREFIX,
    BackupError,
    Locations,
    create_backup,
    database_summary,
)

PENDING_FILE = "pending-restore.json"
MAX_MEMBERS = 100_000
MAX_UNCOMPRESSED = 20 * 1024**3  # a backup is config + database; 20 GB means something is wrong


class RestoreError(Exception):
    """The backup cannot be restored; nothing was changed. The message says why and where."""


@dataclass
class ValidatedBackup:
    source: Path
    manifest: dict[str, Any]
    staging: Path
    database: dict[str, Any] = field(default_factory=dict)

    @property
    def config_dir(self) -> Path:
        return self.staging / "config"

    @property
    def db_file(self) -> Path:
        return self.staging / DB_MEMBER

    def cleanup(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def _check_member_name(name: str, source: Path) -> None:
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or "\\" in name or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise RestoreError(f"{source.name}: unsafe member name {name!r} (absolute or outside the archive)")
    top = path.parts[0] if path.parts else ""
    if top not in ("manifest.json", "config", "db", "data", "overlay_packs"):
        raise RestoreError(f"{source.name}: unexpected member {name!r} (not part of a StreamOps backup)")


def validate_backup(source: Path, staging_parent: Path, environ: Mapping[str, str] = os.environ) -> ValidatedBackup:
    """Extract into a staging folder under `staging_parent` and check everything; raises RestoreError."""
    if not source.is_file():
        raise RestoreError(f"{source}: no such file")
    if not zipfile.is_zipfile(source):
        raise RestoreError(f"{source.name}: not a zip file")
    staging_parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=staging_parent))
    try:
        with zipfile.ZipFile(source) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
                raise RestoreError(f"{source.name}: too many or too large members for a StreamOps backup")
            for info in infos:
                _check_member_name(info.filename, source)
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise RestoreError(f"{source.name}: member {info.filename!r} is a symbolic link")
            bad = zf.testzip()
            if bad is not None:
                raise RestoreError(f"{source.name}: member {bad!r} is corrupt (CRC mismatch)")
            names = {i.filename for i in infos}
            if MANIFEST not in names:
                raise RestoreError(f"{source.name}: no {MANIFEST} (not a StreamOps backup)")
            try:
                manifest = json.loads(zf.read(MANIFEST))
            except ValueError as err:
                raise RestoreError(f"{source.name}: {MANIFEST} is not valid JSON: {err}") from None
            _check_manifest(manifest, source)
            for required in (DB_MEMBER, "config/configuration.yaml"):
                if required not in names:
                    raise RestoreError(f"{source.name}: missing {required}")
            zf.extractall(staging)
        validated = ValidatedBackup(source, manifest, staging)
        validated.database = _check_database(validated.db_file, source)
        _check_config(validated.config_dir, source, environ)
        return validated
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _check_manifest(manifest: Any, source: Path) -> None:
    if not isinstance(manifest, dict) or manifest.get("app") != "streamops":
        raise RestoreError(f"{source.name}: {MANIFEST} is not a StreamOps backup manifest")
    fmt = manifest.get("format")
    if not isinstance(fmt, int):
        raise RestoreError(f"{source.name}: {MANIFEST} has no format number")
    if fmt > FORMAT_VERSION:
        raise RestoreError(
            f"{source.name}: made by StreamOps {manifest.get('version', '?')} (backup format {fmt}); this version reads"
            f" format {FORMAT_VERSION} — upgrade StreamOps first"
        )
    if not isinstance(manifest.get("version"), str):
        raise RestoreError(f"{source.name}: {MANIFEST} has no StreamOps version")


def _check_database(db_file: Path, source: Path) -> dict[str, Any]:
    try:
        with closing(sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)) as conn:
            result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                raise RestoreError(f"{source.name}: {DB_MEMBER} failed PRAGMA integrity_check: {'; '.join(result[:5])}")
            summary = database_summary(conn)
    except sqlite3.DatabaseError as err:
        raise RestoreError(f"{source.name}: {DB_MEMBER} is not a usable SQLite database: {err}") from None
    if not summary["schema"]:
        raise RestoreError(f"{source.name}: {DB_MEMBER} has no StreamOps schema (so_schema table missing or empty)")
    return summary


def _check_config(config_dir: Path, source: Path, environ: Mapping[str, str]) -> None:
    from ..bootstrap import check_config

    checked = check_config(config_dir, environ)
    if checked.errors:
        lines = "\n".join(f"  config/{error}" for error in checked.errors[:20])
        more = f"\n  … and {len(checked.errors) - 20} more" if len(checked.errors) > 20 else ""
        raise RestoreError(f"{source.name}: the configuration in the backup has errors:\n{lines}{more}")


# -- applying --------------------------------------------------------------------------------------
def _replace_folder_contents(target: Path, new: Path | None) -> None:
    """Make `target` hold exactly what `new` holds; works when target is a mount point (no rename of it)."""
    target.mkdir(parents=True, exist_ok=True)
    for child in target.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    if new is not None and new.is_dir():
        for child in new.iterdir():
            shutil.move(str(child), str(target / child.name))


def _replace_database(db_path: Path, new_db: Path) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = db_path.with_name(db_path.name + ".restore-tmp")
    shutil.copyfile(new_db, tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    # The old WAL belongs to the old file: left in place, SQLite would replay it into the new one.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, db_path)


def apply_restore(validated: ValidatedBackup, where: Locations) -> dict[str, Any]:
    """Replace the installation's state with the validated backup; returns what was done."""
    safety: Path | None = None
    if where.db_path.is_file() and where.config_dir.is_dir():
        try:
            safety = create_backup(where, prefix=SAFETY_PREFIX, hub_running=False)
        except BackupError as err:
            raise RestoreError(f"could not make the safety copy of the current state, nothing replaced: {err}") from err
    _replace_folder_contents(where.config_dir, validated.config_dir)
    _replace_database(where.db_path, validated.db_file)
    _replace_folder_contents(where.overlay_data, validated.staging / "data" / "overlays")
    packs_from = validated.staging / "overlay_packs"
    if where.overlay_packs is not None and packs_from.is_dir():
        _replace_folder_contents(where.overlay_packs, packs_from)
    validated.cleanup()
    return {
        "restored": validated.source.name,
        "version": validated.manifest.get("version"),
        "created": validated.manifest.get("created"),
        "safety_copy": safety.name if safety else None,
        "counts": validated.database.get("counts", {}),
    }


# -- staged restores (API) -----------------------------------------------------------------------------
def stage_restore(where: Locations, source: Path, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Validate now, apply at the next start: writes `backup/pending-restore.json`."""
    if source.parent.resolve() != where.backup_dir.resolve():
        raise RestoreError(f"{source.name}: a staged restore must be a file in {where.backup_dir}")
    validated = validate_backup(source, where.backup_dir, environ)
    validated.cleanup()
    pending = {"file": source.name, "staged_at": time.time(), "version": validated.manifest.get("version")}
    tmp = where.backup_dir / (PENDING_FILE + ".tmp")
    tmp.write_text(json.dumps(pending), encoding="utf-8")
    os.replace(tmp, where.backup_dir / PENDING_FILE)
    return pending


def pending_restore(where: Locations) -> dict[str, Any] | None:
    path = where.backup_dir / PENDING_FILE
    if not path.is_file():
        return None
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {"file": None, "error": f"{path} is unreadable"}


def apply_pending(where: Locations, environ: Mapping[str, str] = os.environ) -> dict[str, Any] | None:
    """Apply a staged restore (hub stopped). The marker is removed whether it applies or not, so a bad
    one cannot block every start; the error says what was wrong and nothing is replaced then."""
    pending = pending_restore(where)
    if pending is None:
        return None
    (where.backup_dir / PENDING_FILE).unlink(missing_ok=True)
    name = pending.get("file")
    if not isinstance(name, str) or "/" in name or not (where.backup_dir / name).is_file():
        raise RestoreError(f"the staged restore names no backup file in {where.backup_dir}: {pending}")
    validated = validate_backup(where.backup_dir / name, where.backup_dir, environ)
    return apply_restore(validated, where)


def processes_using(db_path: Path) -> list[str]:
    """Other processes that have the database (or its WAL) open — a running hub, a `streamops jobs`…

    A restore under an open connection would be silently undone or corrupted, so it is refused.
    Processes this user may not inspect are skipped (the port check covers a hub run by another user).
    """
    import psutil

    targets = {str(db_path), f"{db_path}-wal", f"{db_path}-shm"}
    found = []
    me = os.getpid()
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        if proc.info["pid"] == me:
            continue
        try:
            if any(f.path in targets for f in proc.open_files()):
                cmd = " ".join((proc.info["cmdline"] or [proc.info["name"] or "?"])[:4])
                found.append(f"pid {proc.info['pid']}: {cmd}")
        except (psutil.Error, OSError):
            continue
    return found


def hub_answering(host: str, port: int, timeout: float = 1.0) -> bool:
    """Is a StreamOps hub answering `/health/live` there? (A restore must not run under it.)"""
    import http.client

    if host in ("", "0.0.0.0", "::", "*"):
        host = "127.0.0.1"
    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("GET", "/health/live")
            return conn.getresponse().status == 200
        finally:
            conn.close()
    except OSError:
        return False
