"""The `remote_workers:` section: the connection (shared by hub and worker), hub settings, worker settings.

One section serves both sides, so a worker can be started from the same configuration directory as
the hub (`streamops worker -c CONFIG_DIR`) or from command-line flags alone::

    remote_workers:
      enabled: true                      # NATS_ENABLE
      url: nats://192.168.1.10:7768      # NATS_URL
      user: streamops                    # or token: !secret nats_token
      password: !secret nats_password
      tls: {ca_file: /certs/ca.pem}      # optional; cert_file/key_file for mutual TLS
      job_types: [media.proxy, media.thumbnail]   # sent to workers (default: the heavy media types)
      ack_wait: 30                       # a worker silent this long loses the job (redelivered)
      heartbeat_interval: 5              # worker heartbeats; `unavailable` after heartbeat_timeout
      local_fallback: true               # run here when NATS or every capable worker is gone
      worker:                            # used by `streamops worker`
        name: nas
        job_types: [media.proxy, media.thumbnail]   # what this worker accepts (nothing else)
        concurrency: 1
        path_map: {/mnt/recordings: /volume1/recordings}   # hub path → this worker's mount
        plugins: []                      # modules with register_job_types(hub) → [JobType]
"""

from __future__ import annotations

import re
import socket
import ssl
from pathlib import Path
from typing import Any

import voluptuous as vol

from .const import DEFAULT_REMOTE_TYPES, DEFAULT_URL

_NAME_RE = re.compile(r"^[a-z0-9_]{1,48}$")
_JOB_TYPE = vol.All(str, vol.Match(r"^[a-z0-9_]+\.[a-z0-9_]+$", msg="job type must look like 'domain.action'"))
_SECONDS = vol.All(vol.Coerce(float), vol.Range(min=0.1, max=86400))


def slug_name(raw: str) -> str:
    """A worker name usable in an entity id and a NATS subject token."""
    name = re.sub(r"[^a-z0-9_]+", "_", raw.strip().lower()).strip("_")[:48]
    return name or "worker"


def worker_name(value: Any) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise vol.Invalid(f"worker name must be 1-48 of a-z, 0-9, _ (got {value!r}; try {slug_name(str(value))!r})")
    return value


def _url(value: Any) -> str:
    text = str(value).strip()
    for url in text.split(","):
        if not re.match(r"^(nats|tls|ws|wss)://[^\s/]+(:\d+)?/?$", url.strip()):
            raise vol.Invalid(f"url must look like nats://HOST:PORT (comma-separated for a cluster), got {url!r}")
    return text


def _absolute(value: Any) -> str:
    text = str(value)
    if not text.startswith("/"):
        raise vol.Invalid(f"path must be absolute, got {text!r}")
    return text.rstrip("/") or "/"


TLS_SCHEMA = vol.Schema(
    {
        vol.Optional("ca_file"): str,
        vol.Optional("cert_file"): str,
        vol.Optional("key_file"): str,
        vol.Optional("insecure", default=False): bool,
    }
)

CONNECTION = {
    vol.Optional("url", default=DEFAULT_URL): _url,
    vol.Optional("user"): str,
    vol.Optional("password"): str,
    vol.Optional("token"): str,
    vol.Optional("tls"): TLS_SCHEMA,
    vol.Optional("connect_timeout", default=5.0): _SECONDS,
    vol.Optional("ack_wait", default=30.0): vol.All(vol.Coerce(float), vol.Range(min=1, max=3600)),
    vol.Optional("heartbeat_interval", default=5.0): _SECONDS,
}

WORKER_SCHEMA = vol.Schema(
    {
        vol.Optional("name", default=slug_name(socket.gethostname())): worker_name,
        vol.Optional("job_types", default=list(DEFAULT_REMOTE_TYPES)): [_JOB_TYPE],
        vol.Optional("concurrency", default=1): vol.All(vol.Coerce(int), vol.Range(min=1, max=64)),
        vol.Optional("path_map", default={}): {_absolute: _absolute},
        vol.Optional("allowed_dirs", default=[]): [_absolute],
        vol.Optional("plugins", default=[]): [vol.Match(r"^[A-Za-z_][\w.]*$")],
    }
)


def _credentials(config: dict[str, Any]) -> dict[str, Any]:
    if config.get("token") and (config.get("user") or config.get("password")):
        raise vol.Invalid("use either token or user/password, not both")
    if bool(config.get("user")) != bool(config.get("password")):
        raise vol.Invalid("user and password go together")
    return config


CONFIG_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Optional("enabled", default=False): bool,
            **CONNECTION,
            vol.Optional("job_types"): [_JOB_TYPE],
            vol.Optional("max_in_flight", default=32): vol.All(vol.Coerce(int), vol.Range(min=1, max=10_000)),
            vol.Optional("heartbeat_timeout"): _SECONDS,
            vol.Optional("local_fallback", default=True): bool,
            vol.Optional("publish_timeout", default=15.0): _SECONDS,
            vol.Optional("worker", default={}): WORKER_SCHEMA,
        }
    ),
    _credentials,
)


def heartbeat_timeout(config: dict[str, Any]) -> float:
    """Missed heartbeats before a worker counts as unavailable: three intervals unless configured."""
    return float(config.get("heartbeat_timeout") or 3 * float(config["heartbeat_interval"]))


def tls_context(tls: dict[str, Any] | None) -> ssl.SSLContext | None:
    """An SSL context from the `tls:` options, with errors that name the missing file."""
    if not tls:
        return None
    for key in ("ca_file", "cert_file", "key_file"):
        if tls.get(key) and not Path(tls[key]).is_file():
            raise ValueError(f"remote_workers.tls.{key}: no such file {tls[key]}")
    context = ssl.create_default_context(cafile=tls.get("ca_file"))
    if tls.get("cert_file"):
        context.load_cert_chain(tls["cert_file"], tls.get("key_file"))
    if tls.get("insecure"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect_options(config: dict[str, Any], name: str) -> dict[str, Any]:
    """Keyword arguments for `nats.connect` (credentials never logged)."""
    options: dict[str, Any] = {
        "servers": [u.strip() for u in config["url"].split(",")],
        "name": name,
        "connect_timeout": max(1, round(float(config["connect_timeout"]))),
        "allow_reconnect": True,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "ping_interval": 5,
        "max_outstanding_pings": 3,
    }
    if config.get("user"):
        options["user"] = config["user"]
        options["password"] = config["password"]
    if config.get("token"):
        options["token"] = config["token"]
    context = tls_context(config.get("tls"))
    if context is not None:
        options["tls"] = context
    return options
