"""Optional update check: off by default, and no external call unless the user opts in.

With `backup: {update_check: true}` the hub asks PyPI's JSON API for the latest released
`streamops` version once at start and then daily, and shows the answer as
`binary_sensor.streamops_update` (on = a newer version exists; attributes installed_version,
latest_version, checked_at, error). Nothing is downloaded or installed: updating stays the
user's `docker pull` / `pip install -U`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

import aiohttp

from .. import __version__
from ..core import Hub

_LOGGER = logging.getLogger(__name__)

ENTITY_ID = "binary_sensor.streamops_update"
DEFAULT_URL = "https://pypi.org/pypi/streamops/json"
INTERVAL = 24 * 3600


def version_tuple(text: str) -> tuple[int, ...]:
    """'1.10.0' > '1.9.3'; pre-release suffixes are ignored (a conservative 'same release')."""
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:4])


def is_newer(latest: str, installed: str = __version__) -> bool:
    return version_tuple(latest) > version_tuple(installed)


async def fetch_latest(url: str, timeout: float = 10.0) -> str:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        async with session.get(url, headers={"User-Agent": f"streamops/{__version__}"}) as resp:
            resp.raise_for_status()
            data = await resp.json(content_type=None)
    version = (data.get("info") or {}).get("version") if isinstance(data, dict) else None
    if not isinstance(version, str) or not version:
        raise ValueError(f"{url} answered without info.version")
    return version


async def check_once(hub: Hub, url: str) -> None:
    attributes: dict[str, object] = {"installed_version": __version__, "checked_at": time.time(), "source": url}
    try:
        latest = await fetch_latest(url)
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        _LOGGER.info("Update check failed: %s", err)
        hub.states.async_set(ENTITY_ID, "unavailable", {**attributes, "error": str(err)})
        return
    newer = is_newer(latest)
    hub.states.async_set(ENTITY_ID, "on" if newer else "off", {**attributes, "latest_version": latest})
    if newer:
        _LOGGER.warning("StreamOps %s is available (installed: %s)", latest, __version__)


async def update_loop(hub: Hub, url: str, interval: float = INTERVAL) -> None:
    while True:
        await check_once(hub, url)
        await asyncio.sleep(interval)
