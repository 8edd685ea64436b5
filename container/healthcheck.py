#!/usr/bin/env python3
"""Docker HEALTHCHECK: exit 0 when what this ROLE runs answers, 1 otherwise.

Hub roles (all/api/overlay): `GET /health/live` (the process answers; readiness is /health/ready).
Broker: a TCP connection to nats-server's port. Worker: the `streamops worker` process exists
(it has no port). `HEALTH_URL` overrides the URL when `http: server_port` is not 7767.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request
from pathlib import Path

WILDCARD = {"", "0.0.0.0", "::", "*"}


def hub_url(environ: os._Environ[str] | dict[str, str]) -> str:
    if environ.get("HEALTH_URL"):
        return environ["HEALTH_URL"]
    host = (environ.get("STREAMOPS_BIND") or "127.0.0.1").strip()
    if host in WILDCARD:
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:7767/health/live"


def _worker_running() -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"worker" in args and any(a.endswith(b"streamops") for a in args[:2]):
            return True
    return False


def main() -> int:
    role = (os.environ.get("ROLE") or "all").strip().lower()
    try:
        if role == "broker":
            with socket.create_connection(("127.0.0.1", int(os.environ.get("NATS_PORT") or 7768)), timeout=4):
                return 0
        if role == "worker":
            return 0 if _worker_running() else 1
        with urllib.request.urlopen(hub_url(os.environ), timeout=4) as resp:
            return 0 if resp.status == 200 else 1
    except OSError as err:
        print(f"unhealthy: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
