"""The contract between the automation engine and the trigger platforms integrations provide.

A component offers trigger platforms by listing them in its manifest (`trigger_platforms: [name]`)
and defining `TRIGGERS: dict[str, TriggerPlatform]` in its `trigger.py`. The engine validates a
trigger config with `schema` at load time (so `check-config` catches errors without setting
anything up) and calls `attach` when the automation is turned on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import voluptuous as vol

from ..core import Context, Hub, Unsubscribe

# Called by a platform when its trigger fires: the payload becomes the `trigger` variable
# (it must include "platform"; the engine adds "id", "idx" and "alias").
TriggerAction = Callable[[dict[str, Any], Context | None], Any]


@dataclass(frozen=True)
class TriggerInfo:
    automation_id: str
    name: str
    trigger_id: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TriggerPlatform:
    schema: vol.Schema
    attach: Callable[[Hub, dict[str, Any], TriggerAction, TriggerInfo], Awaitable[Unsubscribe]]
