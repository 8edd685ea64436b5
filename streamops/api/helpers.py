"""JSON request/response helpers every API route uses, so errors look the same everywhere."""

from __future__ import annotations

import json
import math
from typing import Any

import voluptuous as vol
from aiohttp import web

MAX_JSON_BYTES = 1024 * 1024


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json_dumps(data), status=status, content_type="application/json")


def json_error(status: int, message: str, code: str | None = None) -> web.Response:
    body: dict[str, Any] = {"message": message}
    if code:
        body["code"] = code
    return json_response(body, status=status)


class JsonError(web.HTTPException):
    """Raise from a handler to answer with a JSON error body (status, message)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        self.status_code = status
        body = {"message": message, **({"code": code} if code else {})}
        super().__init__(text=json.dumps(body), content_type="application/json")


async def read_json(request: web.Request, schema: vol.Schema | None = None, *, default: Any = None) -> Any:
    """Parse (and validate) a JSON body; malformed or invalid bodies become a 400 with a clear message."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise JsonError(413, f"request body larger than {MAX_JSON_BYTES} bytes")
    raw = await request.read()
    if len(raw) > MAX_JSON_BYTES:
        raise JsonError(413, f"request body larger than {MAX_JSON_BYTES} bytes")
    if not raw.strip():
        data = default if default is not None else {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise JsonError(400, f"invalid JSON: {err}", "invalid_json") from err
    if schema is not None:
        try:
            data = schema(data)
        except vol.Invalid as err:
            from ..core.services import humanize_invalid

            raise JsonError(400, f"invalid request: {humanize_invalid(err)}", "invalid_format") from err
    return data


def json_dumps(data: Any) -> str:
    """Compact JSON that browsers can parse: NaN/Infinity (invalid JSON) become null."""
    try:
        return json.dumps(data, default=str, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_replace_non_finite(data), default=str, separators=(",", ":"), allow_nan=False)


def _replace_non_finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _replace_non_finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replace_non_finite(v) for v in value]
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        return _replace_non_finite(as_dict())
    return value
