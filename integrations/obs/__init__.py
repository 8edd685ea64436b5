"""OBS Studio over obs-websocket 5: entities, events, recording sessions, services, triggers.

StreamOps listens to OBS and drives it, and must never get in its way: a closed OBS makes the
entities `unavailable` (logged once), a wrong password is named in the log and in the
`binary_sensor.obs_connected` attribute `error`, and the hub keeps running either way. Nothing is
ever added to the user's scene collection.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import voluptuous as vol

from streamops.core import Hub, HubKey

from .config import CONFIG_SCHEMA, InstanceConfig, build_instances
from .const import DOMAIN
from .instance import ObsInstance
from .services import async_register_services, make_lookup
from .sessions import SessionStore

_LOGGER = logging.getLogger(__name__)


@dataclass
class ObsData:
    """What the OBS integration keeps on the hub (`hub.data[OBS]`)."""

    instances: dict[str, ObsInstance] = field(default_factory=dict)
    store: SessionStore | None = None

    def get(self, name: str | None = None) -> ObsInstance:
        return make_lookup(self.instances)(name)


OBS: HubKey[ObsData] = HubKey("obs")


async def async_setup(hub: Hub, config: list[dict[str, Any]]) -> bool:
    try:
        configs: list[InstanceConfig] = build_instances(config, os.environ)
    except vol.Invalid as err:
        _LOGGER.error("OBS configuration: %s", err)
        return False
    store = SessionStore(hub)
    data = ObsData(store=store)
    for instance_config in configs:
        for note in instance_config.overrides:
            _LOGGER.info("OBS %r: %s (environment overrides obs: in configuration.yaml)", instance_config.name, note)
        data.instances[instance_config.name] = ObsInstance(hub, instance_config, store)
    hub.data[OBS] = data

    async_register_services(hub, make_lookup(data.instances))
    _register_path_variables(hub, store)

    for instance in data.instances.values():
        instance.start()

    async def stop() -> None:
        for instance in data.instances.values():
            await instance.stop()

    hub.async_on_stop(stop)
    return True


def _register_path_variables(hub: Hub, store: SessionStore) -> None:
    """{Game}/{Scene}/{Profile} for files OBS wrote, through the templates' provider hook."""
    try:
        from streamops.templates import register_path_variables_provider
    except ImportError:  # templates not present: nothing asks for path variables
        _LOGGER.debug("streamops.templates has no provider hook; {Game} placeholders come from elsewhere")
        return
    remove = register_path_variables_provider(hub, store.path_variables)
    hub.async_on_stop(remove)


__all__ = ["CONFIG_SCHEMA", "DOMAIN", "OBS", "ObsData", "async_setup"]
