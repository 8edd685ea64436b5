"""The core: bus, states, services and the hub that owns them.

Integrations talk to the core only through these objects; the core never imports an integration.
"""

from .bus import MATCH_ALL, Event, EventBus, Unsubscribe
from .context import Context
from .hub import EVENT_STREAMOPS_STARTED, EVENT_STREAMOPS_STOP, CoreState, Hub, HubConfig, HubData, HubKey
from .services import (
    EVENT_CALL_SERVICE,
    ServiceCall,
    ServiceError,
    ServiceNotFound,
    ServiceRegistry,
    ServiceResponse,
    ServiceValidationError,
    SupportsResponse,
)
from .states import (
    EVENT_STATE_CHANGED,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    InvalidEntityId,
    State,
    StateMachine,
)

__all__ = [
    "EVENT_CALL_SERVICE",
    "EVENT_STATE_CHANGED",
    "EVENT_STREAMOPS_STARTED",
    "EVENT_STREAMOPS_STOP",
    "MATCH_ALL",
    "STATE_OFF",
    "STATE_ON",
    "STATE_UNAVAILABLE",
    "STATE_UNKNOWN",
    "Context",
    "CoreState",
    "Event",
    "EventBus",
    "Hub",
    "HubConfig",
    "HubData",
    "HubKey",
    "InvalidEntityId",
    "ServiceCall",
    "ServiceError",
    "ServiceNotFound",
    "ServiceRegistry",
    "ServiceResponse",
    "ServiceValidationError",
    "State",
    "StateMachine",
    "SupportsResponse",
    "Unsubscribe",
]
