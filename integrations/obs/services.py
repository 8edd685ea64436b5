"""The `obs.*` services. Every one takes an optional `instance:` (default: the first OBS).

A dry run touches nothing and returns the obs-websocket request it would send.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import voluptuous as vol

from streamops.core import Hub, ServiceCall, ServiceError, ServiceValidationError, SupportsResponse

from .const import DOMAIN
from .instance import ObsInstance
from .protocol import ObsError

InstanceLookup = Callable[[str | None], ObsInstance]

INSTANCE_FIELD = {vol.Optional("instance"): vol.Any(None, str)}


def _schema(fields: dict[Any, Any] | None = None) -> vol.Schema:
    return vol.Schema({**INSTANCE_FIELD, **(fields or {})})


# service → (request type, data builder, description, extra schema fields)
_SIMPLE: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any] | None], str, dict[Any, Any]]] = {
    "start_record": ("StartRecord", lambda d: None, "Start recording in OBS.", {}),
    "stop_record": ("StopRecord", lambda d: None, "Stop recording; the response holds the file OBS wrote.", {}),
    "toggle_record": ("ToggleRecord", lambda d: None, "Start or stop recording.", {}),
    "set_scene": (
        "SetCurrentProgramScene",
        lambda d: {"sceneName": d["scene"]},
        "Switch OBS's program scene.",
        {vol.Required("scene"): vol.All(str, vol.Length(min=1))},
    ),
    "save_replay": ("SaveReplayBuffer", lambda d: None, "Save the replay buffer (it must be running).", {}),
    "start_stream": ("StartStream", lambda d: None, "Start streaming.", {}),
    "stop_stream": ("StopStream", lambda d: None, "Stop streaming.", {}),
    "set_input_mute": (
        "SetInputMute",
        lambda d: {"inputName": d["input"], "inputMuted": d["mute"]},
        "Mute or unmute an audio input.",
        {vol.Required("input"): vol.All(str, vol.Length(min=1)), vol.Optional("mute", default=True): bool},
    ),
}


def async_register_services(hub: Hub, lookup: InstanceLookup) -> None:
    for service, (request_type, build, description, fields) in _SIMPLE.items():
        hub.services.async_register(
            DOMAIN,
            service,
            _simple_handler(lookup, service, request_type, build),
            _schema(fields),
            supports_response=SupportsResponse.OPTIONAL,
            supports_dry_run=True,
            description=description,
            fields=_describe(fields),
        )

    async def add_marker(call: ServiceCall) -> dict[str, Any]:
        instance = lookup(call.data.get("instance"))
        if call.dry_run:
            return {"dry_run": True, "instance": instance.name, "request": "CreateRecordChapter", "stored": True}
        return await instance.add_marker(call.data.get("label"))

    hub.services.async_register(
        DOMAIN,
        "add_marker",
        add_marker,
        _schema({vol.Optional("label"): vol.Any(None, vol.All(vol.Coerce(str), vol.Length(max=200)))}),
        supports_response=SupportsResponse.OPTIONAL,
        supports_dry_run=True,
        description="Drop a marker in the current recording (and an OBS record chapter where OBS supports it).",
        fields={"label": {"description": "what happened", "example": "clutch"}},
    )

    async def set_game(call: ServiceCall) -> dict[str, Any]:
        instance = lookup(call.data.get("instance"))
        if call.dry_run:
            return {"dry_run": True, "instance": instance.name, "game": call.data.get("game")}
        return await instance.set_game(call.data.get("game"))

    hub.services.async_register(
        DOMAIN,
        "set_game",
        set_game,
        _schema({vol.Required("game"): vol.Any(None, vol.Coerce(str))}),
        supports_response=SupportsResponse.OPTIONAL,
        supports_dry_run=True,
        description="Set the game for {Game} (the recording in progress and the next ones); null goes back "
        "to game_map.",
        fields={"game": {"description": "game name, or null", "example": "Elden Ring"}},
    )

    async def reconnect(call: ServiceCall) -> None:
        instance = lookup(call.data.get("instance"))
        if not call.dry_run:
            instance.conn.reconnect_now()

    hub.services.async_register(
        DOMAIN,
        "reconnect",
        reconnect,
        _schema(),
        supports_dry_run=True,
        description="Reconnect now (after fixing the password, or after OBS kicked the session).",
    )

    async def request(call: ServiceCall) -> dict[str, Any]:
        instance = lookup(call.data.get("instance"))
        request_type, data = call.data["request_type"], call.data.get("request_data")
        if call.dry_run:
            return {"dry_run": True, "instance": instance.name, "request": request_type, "data": data}
        try:
            return await instance.request(request_type, data)
        except ObsError as err:
            raise ServiceError(str(err)) from err

    hub.services.async_register(
        DOMAIN,
        "request",
        request,
        _schema(
            {
                vol.Required("request_type"): vol.All(str, vol.Match(r"^[A-Za-z]+$")),
                vol.Optional("request_data"): vol.Any(None, dict),
            }
        ),
        supports_response=SupportsResponse.OPTIONAL,
        supports_dry_run=True,
        description="Send any obs-websocket 5 request and return OBS's answer.",
        fields={"request_type": {"example": "GetSceneList"}, "request_data": {"example": {}}},
    )


def _simple_handler(
    lookup: InstanceLookup,
    service: str,
    request_type: str,
    build: Callable[[dict[str, Any]], dict[str, Any] | None],
) -> Callable[[ServiceCall], Awaitable[dict[str, Any]]]:
    async def handler(call: ServiceCall) -> dict[str, Any]:
        instance = lookup(call.data.get("instance"))
        data = build(dict(call.data))
        if call.dry_run:
            return {"dry_run": True, "instance": instance.name, "request": request_type, "data": data}
        try:
            response = await instance.request(request_type, data)
        except ObsError as err:
            raise ServiceError(f"obs.{service}: {err}") from err
        result: dict[str, Any] = {"instance": instance.name}
        if request_type == "StopRecord" and response.get("outputPath"):
            result["output_path"] = instance.config.local_path(response["outputPath"])
        return result | {k: v for k, v in response.items() if k != "outputPath"}

    return handler


def _describe(fields: dict[Any, Any]) -> dict[str, Any]:
    return {str(key): {"required": isinstance(key, vol.Required)} for key in fields}


def make_lookup(instances: dict[str, ObsInstance]) -> InstanceLookup:
    def lookup(name: str | None) -> ObsInstance:
        if not name:
            return next(iter(instances.values()))
        if name in instances:
            return instances[name]
        raise ServiceValidationError(f"unknown OBS instance {name!r} (configured: {', '.join(instances)})")

    return lookup
