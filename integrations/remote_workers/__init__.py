"""Remote workers: heavy jobs run on other machines through NATS JetStream, without changing a rule.

The hub publishes jobs to a work-queue stream (`jobs.<type>`); `streamops worker` processes on other
machines pull them through a durable consumer per job type, extend the ack deadline while they work
(`in_progress` heartbeats with progress), acknowledge on completion, and a job whose worker dies is
redelivered to another. Results come back on a durable results stream and are journaled in
`so_jobs` exactly like local jobs. See docs/remote_workers.md; config keys in config.py.

Entities: `sensor.remote_workers` (connected / disconnected / fallback / disabled, with the reason
and counters) and `sensor.worker_<name>` per worker (idle / busy / offline / unavailable).
"""

from __future__ import annotations

import logging
from typing import Any

from streamops.core import Hub, HubKey

from .config import CONFIG_SCHEMA
from .const import DEFAULT_REMOTE_TYPES
from .dispatcher import RemoteDispatcher

_LOGGER = logging.getLogger(__name__)

DOMAIN = "remote_workers"

REMOTE: HubKey[RemoteDispatcher] = HubKey("remote_workers.dispatcher")


def remote_types(config: dict[str, Any], registered: list[str], role: str) -> list[str]:
    """Which job types go to workers: the configured list, else the heavy media types registered here.

    `ROLE=api` runs no job runners in the hub: every registered type goes remote.
    """
    if role == "api":
        return sorted(set(registered) | set(config.get("job_types") or []))
    if config.get("job_types"):
        return list(config["job_types"])
    return [name for name in DEFAULT_REMOTE_TYPES if name in registered]


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    from streamops.jobs import JOBS
    from streamops.recorder import DATABASE

    config = dict(config)
    role = str((hub.config.raw.get("streamops") or {}).get("role", "all"))
    if role == "api":
        config["local_fallback"] = False
    queue = hub.data[JOBS]
    dispatcher = RemoteDispatcher(hub, config, queue, hub.data[DATABASE])
    hub.data[REMOTE] = dispatcher
    if config["enabled"]:
        dispatcher.install(remote_types(config, list(queue.types), role))
    elif role == "api":
        _LOGGER.error("ROLE=api runs no jobs itself but remote_workers is not enabled (set NATS_ENABLE=true)")
    hub.async_on_start(dispatcher.async_start)
    hub.async_on_stop(dispatcher.async_stop)
    return True


__all__ = ["CONFIG_SCHEMA", "DOMAIN", "REMOTE", "RemoteDispatcher", "async_setup"]
