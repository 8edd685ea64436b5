"""Running the NATS broker: the config file and command line for `nats-server` with JetStream.

The container entrypoint calls `broker_wanted(os.environ)` and, when true, runs
`broker_command(write_broker_config(data_dir, os.environ))` under its supervisor (or simply runs
`streamops broker`, which does both and execs nats-server). Credentials come from the environment
(`NATS_USER`/`NATS_PASSWORD` or `NATS_TOKEN`), never from the command line (where `ps` shows them).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from .const import BROKER_PORT

_TRUE = {"1", "true", "yes", "on", "enable", "enabled"}


def broker_wanted(environ: Mapping[str, str]) -> bool:
    """`ROLE=broker`, or `NATS_ENABLE=true` on the main PC (ROLE all/api): this container runs nats-server."""
    role = environ.get("ROLE", "all").strip().lower() or "all"
    if role == "broker":
        return True
    return role in ("all", "api") and environ.get("NATS_ENABLE", "").strip().lower() in _TRUE


def broker_config_text(
    store_dir: Path,
    *,
    port: int = BROKER_PORT,
    host: str = "0.0.0.0",
    user: str | None = None,
    password: str | None = None,
    token: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    max_file_store: str = "10G",
) -> str:
    """nats-server configuration (its own format; JSON strings are valid values in it)."""
    lines = [
        f"host: {json.dumps(host)}",
        f"port: {int(port)}",
        'server_name: "streamops"',
        "jetstream {",
        f"  store_dir: {json.dumps(str(store_dir))}",
        f"  max_file_store: {max_file_store}",
        "}",
    ]
    if user and password:
        lines += ["authorization {", f"  user: {json.dumps(user)}", f"  password: {json.dumps(password)}", "}"]
    elif token:
        lines += ["authorization {", f"  token: {json.dumps(token)}", "}"]
    if tls_cert and tls_key:
        lines += ["tls {", f"  cert_file: {json.dumps(tls_cert)}", f"  key_file: {json.dumps(tls_key)}", "}"]
    return "\n".join(lines) + "\n"


def write_broker_config(data_dir: Path, environ: Mapping[str, str] = os.environ, port: int | None = None) -> Path:
    """Write `<data>/nats/nats-server.conf` (mode 0600: it may hold a password) and return its path."""
    folder = data_dir / "nats"
    store = folder / "jetstream"
    store.mkdir(parents=True, exist_ok=True)
    text = broker_config_text(
        store,
        port=port or int(environ.get("NATS_PORT") or BROKER_PORT),
        user=environ.get("NATS_USER") or None,
        password=environ.get("NATS_PASSWORD") or None,
        token=environ.get("NATS_TOKEN") or None,
        tls_cert=environ.get("NATS_TLS_CERT") or None,
        tls_key=environ.get("NATS_TLS_KEY") or None,
    )
    conf = folder / "nats-server.conf"
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return conf


def broker_command(conf: Path) -> list[str]:
    """The argv that runs the broker (`nats-server -c CONF`); JetStream is switched on in the file."""
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    return [binary, "-c", str(conf)]
