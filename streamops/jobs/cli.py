"""`streamops jobs`: list jobs with progress, speed and ETA; cancel, pause, resume or retry one.

Works on the SQLite journal directly, whether or not a hub is running (no token needed, and the
same command helps when the hub is down):

- listing only reads (WAL lets it run beside a live hub);
- an action on a job no live hub is executing changes its row at once (a running hub picks the
  change up in its next pass, within `poll_interval`);
- an action on a job a live hub is executing is handed over in `so_jobs.request`; the hub applies it
  within about a second (SIGSTOP/SIGCONT, terminate) and the command waits for that, up to --wait s.

The database is `--db`, else `$DB_PATH`, else `<data dir>/db/streamops.db` (`--data`, `$STREAMOPS_DATA`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from .model import FINAL_STATUSES, STATUSES, row_to_dict, split_worker

ACTIONS = ("cancel", "pause", "resume", "retry")


def register(subparsers: Any) -> None:
    """Called by streamops/cli.py."""
    parser = subparsers.add_parser("jobs", help="list jobs, or cancel/pause/resume/retry one")
    _add_common(parser)
    parser.add_argument("--status", help="only these statuses (comma-separated: " + ",".join(STATUSES) + ")")
    parser.add_argument("--type", dest="job_type", help="only this job type (e.g. media.remux)")
    parser.add_argument("--limit", type=int, default=30, help="at most this many rows (default 30)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=_cmd_list)
    actions = parser.add_subparsers(dest="jobs_command", metavar="{list,show,cancel,pause,resume,retry}")
    lister = actions.add_parser("list", help="list jobs (the default)")
    _add_common(lister)
    lister.add_argument("--status", help="only these statuses (comma-separated)")
    lister.add_argument("--type", dest="job_type", help="only this job type")
    lister.add_argument("--limit", type=int, default=30)
    lister.add_argument("--json", action="store_true")
    lister.set_defaults(func=_cmd_list)
    show = actions.add_parser("show", help="print one job as JSON")
    _add_common(show)
    show.add_argument("job_id", type=int)
    show.set_defaults(func=_cmd_show)
    for action in ACTIONS:
        sub = actions.add_parser(action, help=f"{action} a job")
        _add_common(sub)
        sub.add_argument("job_id", type=int)
        sub.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a running hub (default 5)")
        sub.set_defaults(func=_cmd_action, action=action)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=argparse.SUPPRESS, help="data directory ($STREAMOPS_DATA)")
    parser.add_argument("--db", type=Path, default=argparse.SUPPRESS, help="database file ($DB_PATH)")


# -- database --------------------------------------------------------------------------------------
class CliError(Exception):
    pass


def db_path(args: argparse.Namespace) -> Path:
    if getattr(args, "db", None):
        return Path(args.db)
    if os.environ.get("DB_PATH"):
        return Path(os.environ["DB_PATH"])
    data = getattr(args, "data", None)
    if data is None:
        from ..bootstrap import default_data_dir

        data = default_data_dir()
    return Path(data) / "db" / "streamops.db"


def connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise CliError(f"no StreamOps database at {path} (use --db, --data or $DB_PATH; has the hub run once?)")
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    conn.row_factory = sqlite3.Row
    has_table = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'so_jobs'").fetchone()
    if not has_table:
        conn.close()
        raise CliError(f"{path} has no so_jobs table (start the hub once to create it)")
    return conn


def _live_owner(job: dict[str, Any]) -> bool:
    """True when a hub that is alive right now runs this job (so it must apply the action itself)."""
    worker = job.get("worker")
    if not worker or job["status"] in FINAL_STATUSES:
        return False
    _label, host, pid = split_worker(str(worker))
    if host != socket.gethostname():
        return True  # another machine's worker: only it can stop its processes
    return pid.isdigit() and psutil.pid_exists(int(pid))


# -- formatting ------------------------------------------------------------------------------------
def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def fmt_row(job: dict[str, Any], now: float) -> list[str]:
    percent = "-" if job.get("progress") is None else f"{job['progress']:.1f}%"
    speed = "-" if job.get("speed") is None else f"{job['speed']:.2f}x"
    eta = fmt_duration(job.get("eta")) if job["status"] in ("running", "paused") else "-"
    tries = f"{job['attempts']}/{job['max_retries'] + 1}"
    info = job.get("blocked_reason") or job.get("error") or ""
    if not info and job["status"] == "done" and job.get("result"):
        info = json.dumps(job["result"], separators=(",", ":"))
    if job.get("next_run_at") and job["status"] == "queued":
        info = f"{info} (at {datetime.fromtimestamp(job['next_run_at']):%H:%M:%S})".strip()
    when = job.get("finished") or job.get("started") or job.get("created")
    ago = fmt_duration(max(0.0, now - when)) + " ago" if when else "-"
    info = info.replace("\n", " ")
    if len(info) > 70:
        info = info[:69] + "…"
    return [str(job["id"]), job["type"], job["status"], str(job["priority"]), percent, speed, eta, tries, ago, info]


HEADERS = ["ID", "TYPE", "STATUS", "PRI", "PROGRESS", "SPEED", "ETA", "TRIES", "WHEN", "INFO"]


def render_table(jobs: list[dict[str, Any]], now: float | None = None) -> str:
    now = time.time() if now is None else now
    rows = [HEADERS] + [fmt_row(job, now) for job in jobs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)


# -- commands ----------------------------------------------------------------------------------------
def list_jobs(
    conn: sqlite3.Connection, statuses: list[str] | None, job_type: str | None, limit: int
) -> list[dict[str, Any]]:
    """Active jobs first (running, paused, queued by priority), then the most recent finished ones."""
    where, params = [], []
    if statuses:
        where.append(f"status IN ({', '.join('?' * len(statuses))})")
        params += statuses
    if job_type:
        where.append("type = ?")
        params.append(job_type)
    sql = "SELECT * FROM so_jobs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += (
        " ORDER BY CASE status WHEN 'running' THEN 0 WHEN 'paused' THEN 1 WHEN 'queued' THEN 2 ELSE 3 END,"
        " CASE WHEN status = 'queued' THEN -priority ELSE 0 END, CASE WHEN status = 'queued' THEN id ELSE -id END"
        " LIMIT ?"
    )
    params.append(max(1, limit))
    return [row_to_dict(row) for row in conn.execute(sql, params)]


def _cmd_list(args: argparse.Namespace) -> int:
    try:
        statuses = None
        if args.status:
            statuses = [s.strip() for s in args.status.split(",") if s.strip()]
            bad = [s for s in statuses if s not in STATUSES]
            if bad:
                raise CliError(f"unknown status {', '.join(bad)} (one of: {', '.join(STATUSES)})")
        conn = connect(db_path(args))
        try:
            jobs = list_jobs(conn, statuses, args.job_type, args.limit)
        finally:
            conn.close()
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(jobs, indent=2, default=str))
    elif not jobs:
        print("no jobs")
    else:
        print(render_table(jobs))
    return 0


def _get(conn: sqlite3.Connection, job_id: int) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM so_jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise CliError(f"no job with id {job_id}")
    return row_to_dict(row)


def _cmd_show(args: argparse.Namespace) -> int:
    try:
        conn = connect(db_path(args))
        try:
            job = _get(conn, args.job_id)
        finally:
            conn.close()
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(job, indent=2, default=str))
    return 0


def apply_offline(conn: sqlite3.Connection, job: dict[str, Any], action: str) -> None:
    """Change the row of a job no live hub runs (same rules as JobQueue's methods)."""
    now = time.time()
    status = job["status"]
    job_id = job["id"]
    if action == "cancel":
        if status in FINAL_STATUSES:
            raise CliError(f"job {job_id} is already {status}: nothing to cancel")
        # worker/pids stay: the next hub start kills orphans and runs the type's cleanup.
        changed = conn.execute(
            "UPDATE so_jobs SET status = 'canceled', finished = ?, updated = ?, blocked_reason = NULL,"
            " next_run_at = NULL, request = NULL WHERE id = ? AND status = ?",
            (now, now, job_id, status),
        ).rowcount
    elif action == "pause":
        if status == "paused":
            return
        if status not in ("queued", "running"):
            raise CliError(f"job {job_id} is {status}: only queued or running jobs can be paused")
        changed = conn.execute(
            "UPDATE so_jobs SET status = 'paused', user_paused = 1, blocked_reason = 'paused by user', updated = ?,"
            " request = NULL WHERE id = ? AND status = ?",
            (now, job_id, status),
        ).rowcount
    elif action == "resume":
        if status in ("queued", "running"):
            return
        if status != "paused":
            raise CliError(f"job {job_id} is {status}: only paused jobs can be resumed (use retry)")
        changed = conn.execute(
            "UPDATE so_jobs SET status = 'queued', user_paused = 0, blocked_reason = NULL, updated = ?,"
            " request = NULL WHERE id = ? AND status = 'paused'",
            (now, job_id),
        ).rowcount
    elif action == "retry":
        if status in ("error", "canceled"):
            changed = conn.execute(
                "UPDATE so_jobs SET status = 'queued', attempts = 0, error = NULL, result = NULL, progress = NULL,"
                " speed = NULL, eta = NULL, message = NULL, next_run_at = NULL, blocked_reason = NULL,"
                " finished = NULL, user_paused = 0, request = NULL, updated = ? WHERE id = ? AND status = ?",
                (now, job_id, status),
            ).rowcount
        elif status == "queued" and job.get("next_run_at") is not None:
            changed = conn.execute(
                "UPDATE so_jobs SET next_run_at = NULL, blocked_reason = NULL, updated = ?"
                " WHERE id = ? AND status = 'queued'",
                (now, job_id),
            ).rowcount
        else:
            raise CliError(f"job {job_id} is {status}: only failed, canceled or backing-off jobs can be retried")
    else:
        raise CliError(f"unknown action {action}")
    if not changed:
        raise CliError(f"job {job_id} changed while this command ran; try again")


def run_action(conn: sqlite3.Connection, job_id: int, action: str, wait: float) -> tuple[dict[str, Any], str]:
    """Apply `action`; returns the job afterwards and how it was applied ('offline' | 'hub' | 'pending')."""
    job = _get(conn, job_id)
    if not _live_owner(job):
        apply_offline(conn, job, action)
        return _get(conn, job_id), "offline"
    conn.execute("UPDATE so_jobs SET request = ?, updated = ? WHERE id = ?", (action, time.time(), job_id))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.1)
        job = _get(conn, job_id)
        if job.get("request") is None:
            # Give the hub a moment to finish applying (a cancel waits for the processes to exit).
            settle = time.monotonic() + min(10.0, max(0.0, deadline - time.monotonic()) + 5.0)
            while time.monotonic() < settle:
                job = _get(conn, job_id)
                if _settled(job, action):
                    break
                time.sleep(0.1)
            return job, "hub"
    return _get(conn, job_id), "pending"


def _settled(job: dict[str, Any], action: str) -> bool:
    status = job["status"]
    return {
        "cancel": status in FINAL_STATUSES,
        "pause": status == "paused",
        "resume": status != "paused" or not job.get("user_paused"),
        "retry": status != "error",
    }[action]


def _cmd_action(args: argparse.Namespace) -> int:
    try:
        conn = connect(db_path(args))
        try:
            job, how = run_action(conn, args.job_id, args.action, args.wait)
        finally:
            conn.close()
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except sqlite3.OperationalError as err:
        print(f"error: database busy or unreadable: {err}", file=sys.stderr)
        return 1
    if how == "pending":
        print(
            f"job {job['id']}: {args.action} requested; the hub running it has not applied it yet"
            f" (status {job['status']})"
        )
        return 2
    detail = f" ({job['blocked_reason']})" if job.get("blocked_reason") else ""
    where = "by the running hub" if how == "hub" else "in the journal"
    print(f"job {job['id']} ({job['type']}): {args.action} applied {where}; status {job['status']}{detail}")
    return 0
