"""`streamops backup`, `streamops restore FILE` and `streamops docker-run` (registered by streamops/cli.py).

`backup` works with or without a running hub (SQLite online backup on its own connection).
`restore` validates first and refuses while a hub answers on the configured port (the database is
open there); `restore --pending` applies a restore staged through the API (the container runs it
before starting the hub); `restore --check FILE` only validates.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .archive import BackupError, Locations, create_backup, list_backups, locations_for, prune_backups
from .docker_run import SHELLS, DockerRunError, DockerRunOptions, parse_drive, render


def register(subparsers: Any) -> None:
    backup = subparsers.add_parser(
        "backup", help="write one zip with config, database and overlay packs to <data>/backup (hub may run)"
    )
    _add_locations(backup)
    backup.add_argument("-o", "--output", type=Path, help="zip file or folder to write to (default <data>/backup)")
    backup.add_argument("--label", help="added to the file name, e.g. before-upgrade")
    backup.add_argument("--keep", type=int, help="then delete all but the newest N backups in <data>/backup")
    backup.add_argument("--list", action="store_true", help="list the backups in <data>/backup instead")
    backup.add_argument("--json", action="store_true", help="print JSON")
    backup.set_defaults(func=_cmd_backup)

    restore = subparsers.add_parser(
        "restore", help="validate a backup zip, keep a safety copy of the current state, then replace it (hub stopped)"
    )
    _add_locations(restore)
    restore.add_argument("file", nargs="?", type=Path, help="the backup zip (a name in <data>/backup works too)")
    restore.add_argument("--check", action="store_true", help="only validate; change nothing")
    restore.add_argument("--pending", action="store_true", help="apply the restore staged through the API, if any")
    restore.add_argument("--force", action="store_true", help="do not check for a running hub first")
    restore.set_defaults(func=_cmd_restore)

    gen = subparsers.add_parser(
        "docker-run",
        help="print the `docker run` command for your drives (Windows letters or Linux folders)",
        description="Example: streamops docker-run --drive D: --drive E:=E:\\Editing --recordings D:\\OBS",
    )
    gen.add_argument(
        "--drive",
        action="append",
        default=[],
        metavar="SPEC",
        help="D: (whole drive), R:=D:\\Recordings (a folder as /mnt/drive_r), or name=/host/path (repeatable)",
    )
    gen.add_argument("--recordings", help="host folder OBS records to (inside a --drive)")
    gen.add_argument("--editing", help="host folder finished files move to (inside a --drive)")
    gen.add_argument("--image", default="streamops:latest")
    gen.add_argument("--name", default="streamops")
    gen.add_argument("--data", default="streamops-data", help="named volume or host folder for /data")
    gen.add_argument("--port", type=int, default=7767, help="port on 127.0.0.1 of this PC")
    gen.add_argument("--shell", choices=SHELLS, default="powershell")
    gen.add_argument("--gpu", action="store_true", help="NVIDIA GPU (--gpus all; Docker Desktop with WSL 2)")
    gen.add_argument("--nats", action="store_true", help="run the broker for remote workers (publishes 7768)")
    gen.add_argument("--obs-url", default="ws://host.docker.internal:4455", help="OBS WebSocket ('' to omit)")
    gen.add_argument("--tz", help="time zone for {YYYY}/{MM}/{DD} folders, e.g. Europe/Berlin")
    gen.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra environment")
    gen.set_defaults(func=_cmd_docker_run)


def _add_locations(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="data directory (env STREAMOPS_DATA)")
    parser.add_argument("-c", "--config", type=Path, help="configuration directory (default <data>/config)")
    parser.add_argument("--db", type=Path, help="database file (default: DB_PATH, recorder: db_path, <data>/db)")


def _sections(config_dir: Path) -> dict[str, Any]:
    """The validated config sections when the config is valid enough to read (for db_path, port…)."""
    if not (config_dir / "configuration.yaml").is_file():
        return {}
    from ..bootstrap import check_config

    try:
        return dict(check_config(config_dir, os.environ).sections)
    except Exception:  # a broken config must not prevent a backup of it
        return {}


def _locations(args: argparse.Namespace) -> tuple[Locations, dict[str, Any]]:
    from ..cli import data_dir_from

    data_dir = data_dir_from(args)
    config_dir = (args.config or data_dir / "config").resolve()
    sections = _sections(config_dir)
    return locations_for(data_dir, config_dir, args.db, sections), sections


def _cmd_backup(args: argparse.Namespace) -> int:
    where, _ = _locations(args)
    if args.list:
        entries = list_backups(where.backup_dir)
        if args.json:
            print(json.dumps(entries, indent=2))
        for entry in [] if args.json else entries:
            print(f"{entry['name']}  {entry['size'] / 1e6:8.2f} MB  {entry.get('version') or entry.get('error')}")
        return 0
    try:
        path = create_backup(where, output=args.output, label=args.label)
    except (BackupError, OSError) as err:
        print(f"backup failed: {err}", file=sys.stderr)
        return 1
    removed = prune_backups(where.backup_dir, args.keep) if args.keep else []
    if args.json:
        print(json.dumps({"path": str(path), "size": path.stat().st_size, "removed": removed}))
    else:
        print(f"Backup written: {path} ({path.stat().st_size / 1e6:.2f} MB)")
        for name in removed:
            print(f"Removed old backup {name}")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from .restore import RestoreError, apply_pending, apply_restore, validate_backup

    where, sections = _locations(args)
    try:
        if args.pending:
            done = apply_pending(where)
            print("No staged restore." if done is None else _describe(done))
            return 0
        if args.file is None:
            print("restore: give the backup zip (or --pending)", file=sys.stderr)
            return 2
        source = args.file
        if not source.exists() and (where.backup_dir / source.name).is_file() and len(source.parts) == 1:
            source = where.backup_dir / source.name
        source = source.resolve()
        if not args.check and not args.force:
            busy = _hub_running(where, sections)
            if busy:
                print(
                    f"restore: {busy}; stop it first (or stage the restore with POST /api/restore: it is"
                    " applied at the next start)",
                    file=sys.stderr,
                )
                return 1
        validated = validate_backup(source, where.backup_dir)
        if args.check:
            validated.cleanup()
            db = validated.database
            print(f"Backup valid: {source.name} (StreamOps {validated.manifest.get('version')}, {db.get('counts')})")
            return 0
        print(_describe(apply_restore(validated, where)))
        return 0
    except RestoreError as err:
        print(f"restore failed, nothing was changed: {err}", file=sys.stderr)
        return 1


def _hub_running(where: Locations, sections: dict[str, Any]) -> str | None:
    from .restore import hub_answering, processes_using

    users = processes_using(where.db_path)
    if users:
        return f"the database {where.db_path} is open in {'; '.join(users)}"
    http = sections.get("http") or {}
    host = os.environ.get("STREAMOPS_BIND") or http.get("server_host", "127.0.0.1")
    port = int(http.get("server_port", 7767))
    if port and hub_answering(host, port):
        return f"a StreamOps hub answers on port {port}"
    return None


def _describe(done: dict[str, Any]) -> str:
    safety = f"; the previous state is in backup/{done['safety_copy']}" if done.get("safety_copy") else ""
    return f"Restored {done['restored']} (StreamOps {done['version']}, made {done['created']}){safety}"


def _cmd_docker_run(args: argparse.Namespace) -> int:
    try:
        opts = DockerRunOptions(
            drives=[parse_drive(spec) for spec in args.drive],
            image=args.image,
            name=args.name,
            data=args.data,
            port=args.port,
            shell=args.shell,
            gpu=args.gpu,
            nats=args.nats,
            obs_url=args.obs_url or None,
            recordings=args.recordings,
            editing=args.editing,
            timezone=args.tz,
            extra_env=args.env,
        )
        print(render(opts), end="")
    except DockerRunError as err:
        print(f"docker-run: {err}", file=sys.stderr)
        return 2
    return 0
