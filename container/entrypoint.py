#!/usr/bin/env python3
"""Container entrypoint: prepare /data, pick what runs from ROLE, hand it to supervisord.

PID 1 is tini (reaps zombies, forwards SIGTERM); it runs this script, which ends by exec'ing
supervisord in the foreground. supervisord is the proven supervisor reachable from the registries
this project builds from (s6-overlay needs a GitHub download): it restarts a crashed program,
stops them in reverse start order on SIGTERM with a grace period, and sends every program's output
to the container log. When a program keeps crashing (FATAL), the `fatal-listener` below stops
supervisord so the container exits and Docker's restart policy takes over, instead of a container
that looks up but runs nothing.

    entrypoint.py                 supervise the programs for $ROLE
    entrypoint.py plan            print the supervisord configuration and exit (no side effects)
    entrypoint.py CMD ARGS...     prepare /data, drop privileges, exec CMD (e.g. `streamops backup`)

ROLE: all | api | overlay -> the hub (`streamops run`); worker -> `streamops worker`;
broker -> only nats-server. nats-server also runs with ROLE all/api when NATS_ENABLE=true.
STREAMOPS_BIND (e.g. 0.0.0.0) is read by the hub itself as an override of `http: server_host`;
without it the hub listens on 127.0.0.1 inside the container and a published port reaches nothing.

Privileges: the programs run as PUID:PGID (default 1000:1000) when /data can be made theirs
(a named volume, or a bind mount owned by them). Where a bind mount cannot be chown'ed and is not
writable by that user, they run as root with a warning rather than fail to start.
This file is standalone (no import of streamops) so `plan` runs anywhere; tests load it by path.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("all", "api", "worker", "overlay", "broker")
HUB_ROLES = ("all", "api", "overlay")
DATA_FOLDERS = ("config", "db", "logs", "cache", "thumbs", "backup")
TRUE = {"1", "true", "yes", "on", "enable", "enabled"}
# Must stay below the container's stop timeout (docker run --stop-timeout 30 / compose
# stop_grace_period: 30s): the hub pauses and journals its jobs and closes the database in this time.
STOP_WAIT_SECONDS = 25
VENV_BIN = Path(sys.executable).parent


class EntrypointError(Exception):
    """A setting the container cannot start with; the message names the variable."""


@dataclass
class Program:
    name: str
    argv: list[str]
    priority: int
    stop_wait: int = STOP_WAIT_SECONDS
    env: dict[str, str] = field(default_factory=dict)
    exitcodes: str = "0"


def role_from(environ: Mapping[str, str]) -> str:
    role = (environ.get("ROLE") or "all").strip().lower()
    if role not in ROLES:
        raise EntrypointError(f"ROLE must be one of {', '.join(ROLES)}, got {environ.get('ROLE')!r}")
    return role


def broker_wanted(environ: Mapping[str, str]) -> bool:
    """Same rule as integrations.remote_workers.broker.broker_wanted (kept here to stay standalone)."""
    role = role_from(environ)
    if role == "broker":
        return True
    return role in ("all", "api") and (environ.get("NATS_ENABLE") or "").strip().lower() in TRUE


def streamops_cmd() -> list[str]:
    exe = VENV_BIN / "streamops"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "streamops"]


def plan_programs(environ: Mapping[str, str], data_dir: Path) -> list[Program]:
    """What runs for this environment, in start order (supervisord stops them in reverse)."""
    role = role_from(environ)
    programs: list[Program] = []
    if broker_wanted(environ):
        # `streamops broker` writes <data>/nats/nats-server.conf (credentials from the environment,
        # never on the command line) and execs nats-server with JetStream on 7768.
        programs.append(
            # nats-server exits 1 after its clean shutdown on SIGTERM ("Server Exiting..").
            Program(
                "nats",
                [*streamops_cmd(), "broker", "--data", str(data_dir)],
                priority=10,
                stop_wait=10,
                exitcodes="0,1",
            )
        )
    if role in HUB_ROLES:
        argv = [*streamops_cmd(), "run", "--data", str(data_dir)]
        if (environ.get("STREAMOPS_VERBOSE") or "").strip().lower() in TRUE:
            argv.append("-v")
        programs.append(Program("hub", argv, priority=20))
    elif role == "worker":
        argv = [*streamops_cmd(), "worker", "--data", str(data_dir)]
        if (data_dir / "config" / "configuration.yaml").exists():
            argv += ["-c", str(data_dir / "config")]
        argv += shlex.split(environ.get("WORKER_ARGS") or "")
        programs.append(Program("worker", argv, priority=20))
    return programs


def _ini_value(text: str) -> str:
    # supervisord expands %(name)s in values: a literal % must be doubled.
    return text.replace("%", "%%")


def supervisord_conf(
    programs: Sequence[Program], run_dir: Path, *, user: str | None, log_dir: Path | None = None
) -> str:
    """supervisord.conf text. Output goes to the container log (stdout) unless `log_dir` is given."""
    lines = [
        "[supervisord]",
        "nodaemon=true",
        f"pidfile={run_dir / 'supervisord.pid'}",
        "logfile=/dev/null",
        "logfile_maxbytes=0",
        "loglevel=info",
        f"childlogdir={run_dir}",
    ]
    if os.geteuid() == 0:
        lines.append("user=root")
    # The control socket is private (0700 in a private folder); credentials as well, so supervisord
    # does not log a CRIT about an unauthenticated server. `supervisorctl -c <conf>` reads them.
    secret = secrets.token_hex(16)
    lines += [
        "",
        "[unix_http_server]",
        f"file={run_dir / 'supervisor.sock'}",
        "chmod=0700",
        "username=streamops",
        f"password={secret}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{run_dir / 'supervisor.sock'}",
        "username=streamops",
        f"password={secret}",
    ]
    for program in programs:
        out = f"{log_dir / (program.name + '.log')}" if log_dir else "/dev/stdout"
        lines += [
            "",
            f"[program:{program.name}]",
            f"command={_ini_value(shlex.join(program.argv))}",
            f"priority={program.priority}",
            "autostart=true",
            "autorestart=true",
            "startsecs=5",
            "startretries=5",
            "stopsignal=TERM",
            f"stopwaitsecs={program.stop_wait}",
            f"exitcodes={program.exitcodes}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={out}",
            f"stdout_logfile_maxbytes={'10MB' if log_dir else '0'}",
        ]
        if user:
            lines.append(f"user={user}")
        if program.env:
            env = ",".join(f'{k}="{_ini_value(v)}"' for k, v in program.env.items())
            lines.append(f"environment={env}")
    lines += [
        "",
        "[eventlistener:fatal]",
        f"command={_ini_value(shlex.join([sys.executable, str(Path(__file__).resolve()), 'fatal-listener']))}",
        "events=PROCESS_STATE_FATAL",
        "priority=1",
        "stdout_logfile=NONE",
        "stderr_logfile=NONE",
    ]
    return "\n".join(lines) + "\n"


def prepare_data(data_dir: Path) -> list[Path]:
    """Create the layout under /data; returns the folders made now (to chown on first run)."""
    made = []
    if not data_dir.exists():
        data_dir.mkdir(parents=True)
        made.append(data_dir)
    for name in DATA_FOLDERS:
        folder = data_dir / name
        if not folder.exists():
            folder.mkdir(parents=True)
            made.append(folder)
    return made


@dataclass
class RunAs:
    uid: int
    gid: int
    user: str | None  # passwd name for supervisord's `user=` (None: stay who we are)
    warning: str | None = None


def _writable_by(path: Path, uid: int, gid: int) -> bool:
    st = path.stat()
    if st.st_uid == uid:
        return bool(st.st_mode & 0o200)
    if st.st_gid == gid:
        return bool(st.st_mode & 0o020)
    return bool(st.st_mode & 0o002)


def choose_user(data_dir: Path, environ: Mapping[str, str], *, euid: int | None = None) -> RunAs:
    """Non-root where the data folder allows it (see the module docstring)."""
    euid = os.geteuid() if euid is None else euid
    if euid != 0:  # `docker run --user ...`: already unprivileged, nothing to change
        return RunAs(euid, os.getegid(), None)
    try:
        uid = int(environ.get("PUID") or 1000)
        gid = int(environ.get("PGID") or 1000)
    except ValueError as err:
        raise EntrypointError(f"PUID and PGID must be numbers: {err}") from None
    if uid == 0:
        return RunAs(0, 0, None)
    name = _ensure_passwd(uid, gid)
    try:
        _chown_tree_top(data_dir, uid, gid)
    except OSError:
        pass
    if all(_writable_by(p, uid, gid) for p in [data_dir, *(data_dir / n for n in DATA_FOLDERS)]):
        return RunAs(uid, gid, name)
    return RunAs(
        0,
        0,
        None,
        f"{data_dir} is not writable by uid {uid} and cannot be chown'ed (bind mount?): running as root."
        " Set PUID/PGID to the owner of the folder, or make it writable for uid 1000.",
    )


def _chown_tree_top(data_dir: Path, uid: int, gid: int) -> None:
    """chown /data and its layout folders (not the user's files below them) to the run user.

    A named volume arrives root-owned; config/ and db/ from an earlier root run too.
    """
    for path in [data_dir, *(data_dir / n for n in DATA_FOLDERS)]:
        st = path.stat()
        if (st.st_uid, st.st_gid) != (uid, gid):
            os.chown(path, uid, gid)
    for sub in ("config", "db", "logs", "backup", "nats"):
        folder = data_dir / sub
        if folder.is_dir():
            for child in folder.rglob("*"):
                if child.is_symlink():
                    continue
                st = child.lstat()
                if st.st_uid == 0:
                    os.chown(child, uid, gid)


def _ensure_passwd(uid: int, gid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        pass
    # A PUID the image does not know: add it so supervisord's `user=` can switch to it.
    name = f"streamops{uid}"
    subprocess.run(["groupadd", "--gid", str(gid), "-o", name], check=False, capture_output=True)
    subprocess.run(
        ["useradd", "--uid", str(uid), "--gid", str(gid), "-o", "--no-create-home", "--home-dir", "/data",
         "--shell", "/usr/sbin/nologin", name],
        check=True, capture_output=True,
    )  # fmt: skip
    return name


def apply_pending_restore(data_dir: Path, run_as: RunAs | None = None) -> str | None:
    """A restore staged through the API (`POST /api/restore`) is applied before the hub starts,
    as the user that owns the files it writes."""
    pending = data_dir / "backup" / "pending-restore.json"
    if not pending.exists():
        return None
    as_user: dict[str, object] = {}
    if run_as is not None and os.geteuid() == 0 and run_as.uid != 0:
        as_user = {"user": run_as.uid, "group": run_as.gid, "extra_groups": []}
    result = subprocess.run(
        [*streamops_cmd(), "restore", "--pending", "--data", str(data_dir)],
        capture_output=True,
        text=True,
        **as_user,  # type: ignore[arg-type]
    )
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise EntrypointError(f"applying the staged restore failed (nothing was replaced):\n{output}")
    return output


def drop_privileges(run_as: RunAs) -> None:
    if os.geteuid() != 0 or run_as.uid == 0:
        return
    os.setgroups([])
    os.setgid(run_as.gid)
    os.setuid(run_as.uid)
    os.environ["HOME"] = os.environ.get("STREAMOPS_DATA") or "/data"


def _stdout_usable() -> bool:
    try:
        with open("/dev/stdout", "a"):
            return True
    except OSError:
        return False


def fatal_listener() -> int:
    """supervisord event listener: a program went FATAL (kept crashing) -> stop supervisord."""
    while True:
        sys.stdout.write("READY\n")
        sys.stdout.flush()
        header = dict(token.split(":", 1) for token in sys.stdin.readline().split())
        payload = sys.stdin.read(int(header.get("len", 0)))
        sys.stderr.write(f"streamops-entrypoint: a program kept failing ({payload}); stopping the container\n")
        sys.stdout.write("RESULT 2\nOK")
        sys.stdout.flush()
        os.kill(os.getppid(), signal.SIGTERM)


def main(argv: Sequence[str]) -> int:
    environ = os.environ
    data_dir = Path(environ.get("STREAMOPS_DATA") or "/data")
    if argv[:1] == ["fatal-listener"]:
        return fatal_listener()
    try:
        if argv[:1] == ["plan"]:
            programs = plan_programs(environ, data_dir)
            print(supervisord_conf(programs, Path("/run/streamops"), user="streamops"), end="")
            return 0
        role_from(environ)
        made = prepare_data(data_dir)
        run_as = choose_user(data_dir, environ)
        if run_as.warning:
            print(f"streamops-entrypoint: {run_as.warning}", file=sys.stderr, flush=True)
        if argv:  # a one-off command: `docker run ... streamops backup`
            drop_privileges(run_as)
            os.execvp(argv[0], list(argv))
        if made:
            print(f"streamops-entrypoint: created {', '.join(str(p) for p in made)}", flush=True)
        programs = plan_programs(environ, data_dir)
        if not programs:
            raise EntrypointError("nothing to run for this ROLE")
        message = apply_pending_restore(data_dir, run_as)
        if message:
            print(f"streamops-entrypoint: {message}", flush=True)
        run_dir = Path(tempfile.mkdtemp(prefix="streamops-supervisor-"))
        log_dir = None if _stdout_usable() else data_dir / "logs"
        conf = run_dir / "supervisord.conf"
        conf.write_text(supervisord_conf(programs, run_dir, user=run_as.user, log_dir=log_dir), encoding="utf-8")
        conf.chmod(0o600)
        names = ", ".join(p.name for p in programs)
        who = f"uid {run_as.uid}" if run_as.user or os.geteuid() != 0 else "root"
        print(f"streamops-entrypoint: ROLE={role_from(environ)}: starting {names} as {who}", flush=True)
        supervisord = VENV_BIN / "supervisord"
        os.execv(str(supervisord), [str(supervisord), "-n", "-c", str(conf)])
    except EntrypointError as err:
        print(f"streamops-entrypoint: {err}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
