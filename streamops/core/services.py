"""Service registry: the verbs of StreamOps (`media.remux`, `obs.set_scene`, ...).

Every service can be called for real or as a dry run. A dry run is what `simulate` uses: a service
that supports it returns its plan (destination path, exact command line) without side effects; one
that does not is never executed during a dry run, and the registry reports the call instead.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import voluptuous as vol

from .bus import EventBus
from .context import Context

_LOGGER = logging.getLogger(__name__)

EVENT_CALL_SERVICE = "call_service"
EVENT_SERVICE_REGISTERED = "service_registered"
EVENT_SERVICE_REMOVED = "service_removed"

ServiceResponse = dict[str, Any] | None


class SupportsResponse(StrEnum):
    NONE = "none"
    OPTIONAL = "optional"
    ONLY = "only"


class ServiceError(Exception):
    """A service ran and failed; the message is shown to the user as is."""


class ServiceNotFound(ServiceError):
    def __init__(self, domain: str, service: str) -> None:
        super().__init__(f"service {domain}.{service} not available (is its integration configured and set up?)")
        self.domain = domain
        self.service = service


class ServiceValidationError(ServiceError):
    """The call's data did not match the service schema."""


@dataclass(slots=True)
class ServiceCall:
    domain: str
    service: str
    data: Mapping[str, Any]
    context: Context = field(default_factory=Context)
    return_response: bool = False
    dry_run: bool = False


ServiceHandler = Callable[[ServiceCall], Any]


@dataclass(slots=True)
class Service:
    domain: str
    service: str
    handler: ServiceHandler
    schema: vol.Schema | None
    supports_response: SupportsResponse
    supports_dry_run: bool
    description: str
    fields: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.service.replace("_", " "),
            "description": self.description,
            "fields": dict(self.fields),
            **(
                {"response": {"optional": self.supports_response == SupportsResponse.OPTIONAL}}
                if self.supports_response != SupportsResponse.NONE
                else {}
            ),
        }


def humanize_invalid(err: vol.Invalid) -> str:
    """'expected int for dictionary value @ data['x']' → "x: expected int"."""
    errors = err.errors if isinstance(err, vol.MultipleInvalid) else [err]
    parts = []
    for item in errors:
        where = ".".join(str(p) for p in item.path)
        parts.append(f"{where}: {item.msg}" if where else item.msg)
    return "; ".join(parts)


class ServiceRegistry:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._services: dict[str, dict[str, Service]] = {}

    def async_register(
        self,
        domain: str,
        service: str,
        handler: ServiceHandler,
        schema: vol.Schema | None = None,
        *,
        supports_response: SupportsResponse = SupportsResponse.NONE,
        supports_dry_run: bool = False,
        description: str = "",
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        domain, service = domain.lower(), service.lower()
        self._services.setdefault(domain, {})[service] = Service(
            domain, service, handler, schema, supports_response, supports_dry_run, description, fields or {}
        )
        self._bus.async_fire(EVENT_SERVICE_REGISTERED, {"domain": domain, "service": service})

    def async_remove(self, domain: str, service: str) -> None:
        if self._services.get(domain, {}).pop(service, None) is not None:
            self._bus.async_fire(EVENT_SERVICE_REMOVED, {"domain": domain, "service": service})

    def has_service(self, domain: str, service: str) -> bool:
        return service.lower() in self._services.get(domain.lower(), {})

    def get(self, domain: str, service: str) -> Service | None:
        return self._services.get(domain.lower(), {}).get(service.lower())

    def async_services(self) -> dict[str, dict[str, Service]]:
        return {domain: dict(services) for domain, services in self._services.items()}

    async def async_call(
        self,
        domain: str,
        service: str,
        data: Mapping[str, Any] | None = None,
        blocking: bool = True,
        context: Context | None = None,
        return_response: bool = False,
        dry_run: bool = False,
    ) -> ServiceResponse:
        """Validate and run a service. Non-blocking calls are scheduled and return None at once."""
        handler = self.get(domain, service)
        if handler is None:
            raise ServiceNotFound(domain, service)
        if return_response and handler.supports_response == SupportsResponse.NONE:
            raise ServiceValidationError(f"service {domain}.{service} does not return a response")
        payload = dict(data or {})
        if handler.schema is not None:
            try:
                payload = handler.schema(payload)
            except vol.Invalid as err:
                raise ServiceValidationError(f"invalid data for {domain}.{service}: {humanize_invalid(err)}") from err
        context = context or Context()
        call = ServiceCall(domain, service, payload, context, return_response, dry_run)
        self._bus.async_fire(
            EVENT_CALL_SERVICE,
            {"domain": domain, "service": service, "service_data": payload, "dry_run": dry_run},
            context=context,
        )
        if dry_run and not handler.supports_dry_run:
            return {"dry_run": True, "would_call": f"{domain}.{service}", "data": payload}
        if not blocking:
            asyncio.get_running_loop().create_task(self._run_logged(handler, call))
            return None
        result = await self._run(handler, call)
        if not return_response and not dry_run:
            return None
        return result

    async def _run(self, service: Service, call: ServiceCall) -> ServiceResponse:
        result = service.handler(call)
        if inspect.isawaitable(result):
            result = await result
        if result is not None and not isinstance(result, dict):
            result = {"result": result}
        return result

    async def _run_logged(self, service: Service, call: ServiceCall) -> None:
        try:
            await self._run(service, call)
        except Exception:
            _LOGGER.exception("Error in non-blocking call to %s.%s", call.domain, call.service)
