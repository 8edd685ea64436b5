"""`/api/settings` and `/api/tokens`: the Settings page's JSON endpoints.

Tokens: the http component has the functions (`create_token`, `list_tokens`, `revoke_token`) and a
CLI, but no HTTP routes; these are the smallest ones the page needs. Creating or revoking a token
needs an owner token's session (a user token cannot mint more tokens); a new token is shown once in
the response, as on the command line.
"""

from __future__ import annotations

import voluptuous as vol
from aiohttp import web

from ..api import create_token, list_tokens, request_auth, revoke_token
from ..api.helpers import JsonError, json_response, read_json
from ..core import Hub
from .settings import SettingsManager

TOKEN_CREATE = vol.Schema({vol.Required("name"): vol.All(str, vol.Length(min=1, max=100))})


def register_api_routes(app: web.Application, hub: Hub, settings: SettingsManager) -> None:
    from ..recorder import DATABASE

    async def get_settings(request: web.Request) -> web.Response:
        return json_response({"settings": await settings.describe()})

    async def put_settings(request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict) or not body:
            raise JsonError(400, 'the body must be a JSON object of settings, e.g. {"jobs.guardrails.cpu_percent": 80}')
        errors = await settings.update(body)
        if errors:
            import json

            error = JsonError(400, "; ".join(errors))
            error.text = json.dumps({"message": "; ".join(errors), "errors": errors})
            raise error
        return json_response({"settings": await settings.describe()})

    def owner_only(request: web.Request) -> None:
        auth = request_auth(request)
        if auth is None or not auth.is_owner:
            raise JsonError(403, "only the owner token can create or revoke tokens", "forbidden")

    async def get_tokens(request: web.Request) -> web.Response:
        rows = await list_tokens(hub.data[DATABASE])
        auth = request_auth(request)
        return json_response(
            [
                {
                    "id": row["id"],
                    "name": row["name"],
                    "kind": row["kind"],
                    "created": row["created"],
                    "last_used": row["last_used"],
                    "current": auth is not None and auth.token_id == row["id"],
                }
                for row in rows
            ]
        )

    async def post_token(request: web.Request) -> web.Response:
        owner_only(request)
        body = await read_json(request, TOKEN_CREATE)
        try:
            token = await create_token(hub.data[DATABASE], body["name"])
        except ValueError as err:
            raise JsonError(400, str(err), "invalid_format") from err
        server_url = f"{request.scheme}://{request.host}"
        return json_response(
            {"name": body["name"], "token": token, "login_link": f"{server_url}/auth/login?token={token}"}, status=201
        )

    async def delete_token(request: web.Request) -> web.Response:
        owner_only(request)
        raw = request.match_info["token_id"]
        if not raw.isdigit():
            raise JsonError(400, f"token id must be a number, got {raw!r}", "invalid_format")
        auth = request_auth(request)
        if auth is not None and auth.token_id == int(raw):
            raise JsonError(409, "this is the token you are logged in with; revoke it from another session or the CLI")
        if not await revoke_token(hub.data[DATABASE], int(raw)):
            raise JsonError(404, f"no live token with id {raw}", "not_found")
        return json_response({"revoked": int(raw)})

    async def session(request: web.Request) -> web.Response:
        """Whether this browser has a valid session — 200 either way, so the login page makes no
        failed request (a 401 would be a console error on every first visit)."""
        from ..api import HTTP
        from ..api.security import authenticate

        info = await authenticate(hub.data[HTTP], request)
        body: dict[str, object] = {"authenticated": info is not None}
        if info is not None:
            body.update(name=info.name, kind=info.kind)
        return json_response(body)

    app.router.add_get("/auth/session", session)
    app.router.add_get("/api/settings", get_settings)
    app.router.add_put("/api/settings", put_settings)
    app.router.add_get("/api/tokens", get_tokens)
    app.router.add_post("/api/tokens", post_token)
    app.router.add_delete("/api/tokens/{token_id}", delete_token)
