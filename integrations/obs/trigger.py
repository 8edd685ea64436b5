"""The `obs` trigger platform for automations.

```yaml
triggers:
  - trigger: obs
    event: recording_stopped        # recording_started | recording_stopped | streaming_started |
                                    # streaming_stopped | scene_changed | replay_saved | marker
    scene: [Gameplay, "Elden*"]     # optional: only for these scenes (patterns allowed)
    instance: studio                # optional: only this OBS
```

The `trigger` variable holds the event's data (`output_path`, `scene`, `game`, `session_id`, ...)
plus `platform: obs` and `event`. For `recording_stopped`, `reason` is `stopped` or `split` (a
finished part of a split recording).
"""

from __future__ import annotations

import inspect
from fnmatch import fnmatchcase
from typing import Any

import voluptuous as vol

from streamops.core import Event, Hub, Unsubscribe
from streamops.helpers.trigger_platform import TriggerAction, TriggerInfo, TriggerPlatform

from .const import TRIGGER_EVENTS


def _string_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return vol.Schema([vol.Coerce(str)])(value)


TRIGGER_SCHEMA = vol.Schema(
    {
        vol.Exclusive("trigger", "platform"): "obs",
        vol.Exclusive("platform", "platform"): "obs",
        vol.Required("event"): vol.In(sorted(TRIGGER_EVENTS), msg=f"event must be one of {', '.join(TRIGGER_EVENTS)}"),
        vol.Optional("scene"): _string_list,
        vol.Optional("instance"): str,
        vol.Optional("id"): vol.Coerce(str),
        vol.Optional("alias"): str,
        vol.Optional("enabled"): vol.Any(bool, str),
        vol.Optional("variables"): dict,
    }
)


async def async_attach(hub: Hub, config: dict[str, Any], action: TriggerAction, info: TriggerInfo) -> Unsubscribe:
    event_name = config["event"]
    scenes: list[str] | None = config.get("scene")
    instance: str | None = config.get("instance")

    def matches(event: Event) -> bool:
        if instance is not None and event.data.get("instance") != instance:
            return False
        if scenes is not None:
            scene = event.data.get("scene")
            if not isinstance(scene, str) or not any(fnmatchcase(scene, pattern) for pattern in scenes):
                return False
        return True

    def fire(event: Event) -> None:
        payload = {
            "platform": "obs",
            "event": event_name,
            **event.data,
            "description": f"OBS {event_name.replace('_', ' ')}",
        }
        result = action(payload, event.context)
        if inspect.isawaitable(result):
            hub.async_create_task(_await(result))

    return hub.bus.async_listen(TRIGGER_EVENTS[event_name], fire, event_filter=matches)


async def _await(result: Any) -> None:
    await result


TRIGGERS: dict[str, TriggerPlatform] = {"obs": TriggerPlatform(schema=TRIGGER_SCHEMA, attach=async_attach)}
