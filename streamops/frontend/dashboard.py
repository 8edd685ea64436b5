"""`dashboard.yaml`: the card layout (views → cards), read and written through `/api/dashboard`.

The file lives in the config folder next to configuration.yaml, so it is backed up and versioned
with the rest of the configuration. When the user has none, the shipped `config/dashboard.yaml`
is served (and the first save creates the user's copy). A write is validated first, then goes to a
temporary file beside the target, is fsynced and renamed over it: a crash mid-write leaves the old
dashboard, never half a file. YAML text sent by the editor is written as typed (comments kept).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import voluptuous as vol
import yaml
from aiohttp import web

from ..api.helpers import JsonError, json_response, read_json
from ..config.errors import ConfigError
from ..config.validation import validate
from ..core import Hub
from .yaml_text import error_dicts, parse_yaml_text, plain

DASHBOARD_FILE = "dashboard.yaml"
SHIPPED = Path(__file__).resolve().parents[2] / "config" / DASHBOARD_FILE
MAX_BYTES = 512 * 1024

_ENTITY_ID = vol.Match(r"^[a-z0-9_]+\.[a-z0-9_]+$", msg="expected an entity id like sensor.cpu_percent")
_SERVICE = vol.Match(r"^[a-z0-9_]+\.[a-z0-9_]+$", msg="expected a service like jobs.pause")
_CARD_TYPE = vol.Match(r"^[a-z][a-z0-9_-]*$", msg="card type: lower-case letters, digits, '-' and '_'")

_ENTITY_ROW = vol.Any(
    _ENTITY_ID,
    vol.Schema({vol.Required("entity"): _ENTITY_ID, vol.Optional("name"): str, vol.Optional("icon"): str}),
)
_COMMON = {
    vol.Required("type"): _CARD_TYPE,
    vol.Optional("title"): vol.Any(None, str),
    vol.Optional("wide"): bool,
    vol.Optional("full"): bool,
}
# Known card types are checked strictly (a typo in an option is an error); other types are
# custom cards (part of www/app/cards) whose options the card itself checks.
CARD_SCHEMAS: dict[str, vol.Schema] = {
    "entities": vol.Schema({**_COMMON, vol.Required("entities"): vol.All([_ENTITY_ROW], vol.Length(min=1))}),
    "gauge": vol.Schema(
        {
            **_COMMON,
            vol.Required("entity"): _ENTITY_ID,
            vol.Optional("name"): str,
            vol.Optional("min", default=0): vol.Coerce(float),
            vol.Optional("max", default=100): vol.Coerce(float),
            vol.Optional("unit"): str,
            vol.Optional("severity"): {vol.Optional(k): vol.Coerce(float) for k in ("green", "yellow", "red")},
        }
    ),
    "status": vol.Schema({**_COMMON, vol.Optional("entities"): [_ENTITY_ID]}),
    "jobs": vol.Schema(
        {
            **_COMMON,
            vol.Optional("limit", default=10): vol.All(int, vol.Range(min=1, max=200)),
            vol.Optional("show_finished", default=True): bool,
        }
    ),
    "button": vol.Schema(
        {
            **_COMMON,
            vol.Required("name"): str,
            vol.Required("service"): _SERVICE,
            vol.Optional("data", default={}): dict,
            vol.Optional("confirm"): str,
            vol.Optional("icon"): str,
        }
    ),
    "history": vol.Schema(
        {
            **_COMMON,
            vol.Required("entity"): _ENTITY_ID,
            vol.Optional("hours", default=24): vol.All(vol.Coerce(float), vol.Range(min=0.05, max=24 * 31)),
            vol.Optional("name"): str,
        }
    ),
    "markdown": vol.Schema({**_COMMON, vol.Required("content"): str}),
}


def _card(value: Any) -> Any:
    if not isinstance(value, dict):
        raise vol.Invalid("a card is a mapping with a 'type:'")
    if "type" not in value:
        raise vol.Invalid("a card needs a 'type:' (entities, gauge, status, jobs, button, history, markdown, assets)")
    schema = CARD_SCHEMAS.get(str(value["type"]))
    if schema is None:
        return vol.Schema({vol.Required("type"): _CARD_TYPE}, extra=vol.ALLOW_EXTRA)(value)
    return schema(value)


VIEW_SCHEMA = vol.Schema(
    {
        vol.Optional("title"): str,
        vol.Optional("path"): vol.Match(r"^[a-z0-9_-]+$"),
        vol.Optional("cards", default=[]): [_card],
    }
)
DASHBOARD_SCHEMA = vol.Schema(
    {vol.Optional("title", default="StreamOps"): str, vol.Required("views"): vol.All([VIEW_SCHEMA], vol.Length(min=1))}
)


def validate_dashboard(data: Any, file: str = DASHBOARD_FILE) -> tuple[dict[str, Any] | None, list[ConfigError]]:
    """Validated dashboard, or errors (with lines when `data` came from YAML text)."""
    if not isinstance(data, dict):
        return None, [ConfigError("the dashboard must be a mapping with 'views:'", file, 1)]
    validated, errors = validate(DASHBOARD_SCHEMA, data, domain="dashboard")
    for err in errors:
        if err.file is None:
            err.file = file
    return (plain(validated) if not errors else None), errors


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class DashboardStore:
    """Reads and writes `<config>/dashboard.yaml`."""

    def __init__(self, hub: Hub) -> None:
        self.path = Path(hub.config.config_dir) / DASHBOARD_FILE

    def read(self) -> tuple[dict[str, Any], str, str, list[ConfigError]]:
        """(dashboard, yaml text, source 'user'|'default', errors of the user's file)."""
        source, path = ("user", self.path) if self.path.is_file() else ("default", SHIPPED)
        text = path.read_text(encoding="utf-8") if path.is_file() else "views:\n  - title: Home\n    cards: []\n"
        data, errors = parse_yaml_text(text, DASHBOARD_FILE)
        validated = None
        if not errors:
            validated, errors = validate_dashboard(data)
        if validated is None:
            # A broken file by hand: show the shipped one, and say what is wrong with the user's.
            fallback, _ = validate_dashboard(parse_yaml_text(SHIPPED.read_text(encoding="utf-8"))[0])
            return fallback or {"views": [{"cards": []}]}, text, source, errors
        return validated, text, source, []

    def write(self, text: str) -> None:
        if len(text.encode()) > MAX_BYTES:
            raise JsonError(413, f"dashboard larger than {MAX_BYTES} bytes")
        _atomic_write(self.path, text)


def _yaml_dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def register_dashboard_routes(app: web.Application, hub: Hub) -> None:
    store = DashboardStore(hub)

    async def get_dashboard(request: web.Request) -> web.Response:
        dashboard, text, source, errors = store.read()
        return json_response(
            {
                "dashboard": dashboard,
                "yaml": text,
                "source": source,
                "file": DASHBOARD_FILE,
                "errors": error_dicts(errors),
            }
        )

    async def put_dashboard(request: web.Request) -> web.Response:
        """JSON `{"dashboard": {...}}` or `{"yaml": "..."}` (or the dashboard object itself)."""
        body = await read_json(request)
        if isinstance(body, dict) and isinstance(body.get("yaml"), str):
            text = body["yaml"]
            data, errors = parse_yaml_text(text, DASHBOARD_FILE)
        else:
            data = body.get("dashboard", body) if isinstance(body, dict) else body
            text, errors = None, []
        validated = None
        if not errors:
            validated, errors = validate_dashboard(data)
        if errors or validated is None:
            raise _invalid(errors)
        store.write(text if text is not None else _yaml_dump(validated))
        return json_response({"dashboard": validated, "source": "user", "file": DASHBOARD_FILE})

    app.router.add_get("/api/dashboard", get_dashboard)
    app.router.add_put("/api/dashboard", put_dashboard)


def _invalid(errors: list[ConfigError]) -> web.HTTPException:
    import json

    error = JsonError(400, "invalid dashboard: " + "; ".join(str(e) for e in errors[:3]))
    error.text = json.dumps(
        {
            "message": "invalid dashboard: " + "; ".join(str(e) for e in errors[:3]),
            "errors": [str(e) for e in errors],
            "details": error_dicts(errors),
        }
    )
    return error
