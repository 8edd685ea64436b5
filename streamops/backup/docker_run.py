"""`streamops docker-run`: the `docker run` command for a user's drives, written for their shell.

Windows users map drive letters: `--drive D:` mounts `D:\\` at `/mnt/drive_d`; `--drive R:=D:\\Recordings`
mounts that folder at `/mnt/drive_r`. On Linux/macOS `--drive rec=/srv/recordings` mounts at
`/mnt/drive_rec`. `--recordings`/`--editing` take a host path inside a mapped drive and become
`STREAMOPS_RECORDINGS`/`STREAMOPS_EDITING` (the shipped config reads those) translated to the
container's path. The port is published on 127.0.0.1 only and the hub told to listen on all of the
container's interfaces (`STREAMOPS_BIND=0.0.0.0`): reachable from this PC, not from the LAN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

_LETTER = re.compile(r"^([A-Za-z]):?$")
_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
SHELLS = ("powershell", "cmd", "bash")


class DockerRunError(ValueError):
    """A `--drive` or path the generator cannot map; the message names the argument."""


@dataclass(frozen=True)
class Drive:
    key: str  # container suffix: /mnt/drive_<key>
    host: str  # host path as the user's OS spells it
    windows: bool

    @property
    def container(self) -> str:
        return f"/mnt/drive_{self.key}"


def parse_drive(spec: str) -> Drive:
    """`D:` | `D:=D:\\Recordings` | `name=/host/path`."""
    key, sep, host = spec.partition("=")
    key = key.strip()
    letter = _LETTER.match(key)
    if letter:
        host = host.strip() or f"{letter.group(1).upper()}:\\"
        if not PureWindowsPath(host).drive:
            raise DockerRunError(f"--drive {spec!r}: {host!r} is not a Windows path like D:\\Recordings")
        return Drive(letter.group(1).lower(), host, True)
    if not sep or not _NAME.match(key):
        raise DockerRunError(
            f"--drive {spec!r}: expected a drive letter (D: or R:=D:\\Recordings) or name=/host/path"
            " (name: a-z, 0-9, _)"
        )
    if not host.startswith("/"):
        raise DockerRunError(f"--drive {spec!r}: {host!r} must be an absolute path")
    return Drive(key, host.rstrip("/") or "/", False)


def container_path(host_path: str, drives: list[Drive]) -> str:
    """The container path of a host path inside one of the mapped drives."""
    for drive in sorted(drives, key=lambda d: len(d.host), reverse=True):
        if drive.windows:
            base, path = PureWindowsPath(drive.host), PureWindowsPath(host_path)
            if not path.drive:
                continue
            try:
                rel = path.relative_to(base)
            except ValueError:
                continue
            parts = rel.parts
        else:
            base_p, path_p = PurePosixPath(drive.host), PurePosixPath(host_path)
            try:
                parts = path_p.relative_to(base_p).parts
            except ValueError:
                continue
        return str(PurePosixPath(drive.container, *parts))
    raise DockerRunError(f"{host_path!r} is not inside any --drive; add the drive that holds it")


@dataclass
class DockerRunOptions:
    drives: list[Drive] = field(default_factory=list)
    image: str = "streamops:latest"
    name: str = "streamops"
    data: str = "streamops-data"  # a named volume, or a host folder
    port: int = 7767
    shell: str = "powershell"
    gpu: bool = False
    nats: bool = False
    obs_url: str | None = "ws://host.docker.internal:4455"
    recordings: str | None = None
    editing: str | None = None
    timezone: str | None = None
    extra_env: list[str] = field(default_factory=list)


def _quote(value: str, shell: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./:=@%+,-]+", value):
        return value
    if shell == "bash":
        return "'" + value.replace("'", "'\"'\"'") + "'"
    if shell == "powershell":
        return "'" + value.replace("'", "''") + "'"
    return '"' + value.replace('"', '""') + '"'


def build_args(opts: DockerRunOptions) -> list[str]:
    """The argv (without the shell's quoting)."""
    if opts.shell not in SHELLS:
        raise DockerRunError(f"--shell must be one of {', '.join(SHELLS)}")
    keys = [d.key for d in opts.drives]
    if len(keys) != len(set(keys)):
        raise DockerRunError("two --drive options map to the same /mnt/drive_<name>")
    args = ["docker", "run", "-d", "--name", opts.name, "--restart", "unless-stopped", "--stop-timeout", "30"]
    args += ["-p", f"127.0.0.1:{opts.port}:7767"]
    if opts.nats:
        args += ["-p", "7768:7768"]
    args += ["-e", "STREAMOPS_BIND=0.0.0.0"]
    if opts.nats:
        args += ["-e", "NATS_ENABLE=true"]
    if opts.obs_url:
        args += ["-e", f"OBS_WS_URL={opts.obs_url}"]
    if opts.recordings:
        args += ["-e", f"STREAMOPS_RECORDINGS={container_path(opts.recordings, opts.drives)}"]
    if opts.editing:
        args += ["-e", f"STREAMOPS_EDITING={container_path(opts.editing, opts.drives)}"]
    if opts.timezone:
        args += ["-e", f"TZ={opts.timezone}"]
    for item in opts.extra_env:
        if "=" not in item:
            raise DockerRunError(f"--env {item!r}: expected NAME=VALUE")
        args += ["-e", item]
    if opts.gpu:
        args += ["--gpus", "all"]
    args += ["-v", f"{opts.data}:/data"]
    for drive in opts.drives:
        args += ["-v", f"{drive.host}:{drive.container}"]
    args.append(opts.image)
    return args


def render(opts: DockerRunOptions) -> str:
    """One option per line, with the shell's line continuation."""
    args = build_args(opts)
    cont = {"powershell": " `", "cmd": " ^", "bash": " \\"}[opts.shell]
    lines: list[str] = []
    i = 0
    head = args[:2]
    lines.append(" ".join(head))
    i = 2
    while i < len(args) - 1:
        arg = args[i]
        if arg.startswith("-") and i + 1 < len(args) - 1 and not args[i + 1].startswith("-") and arg != "-d":
            lines.append(f"  {arg} {_quote(args[i + 1], opts.shell)}")
            i += 2
        else:
            lines.append(f"  {arg}")
            i += 1
    lines.append(f"  {_quote(args[-1], opts.shell)}")
    return (cont + "\n").join(lines) + "\n"
