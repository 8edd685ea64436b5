"""The frontend component's HTTP side: static files, /api/dashboard, /api/frontend/yaml,
/api/settings (sources and precedence), /api/tokens, /auth/session — against a real hub (recorder on
SQLite, http on a free port, the job queue for the guardrail settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streamops.api.auth import KIND_USER, create_token
from streamops.core import Hub
from streamops.frontend import CONFIG_SCHEMA as FRONTEND_SCHEMA
from streamops.frontend import async_setup as frontend_setup
from streamops.jobs import CONFIG_SCHEMA as JOBS_SCHEMA
from streamops.jobs import JOBS
from streamops.jobs import async_setup as jobs_setup
from streamops.recorder import DATABASE
from tests.helpers_api import api_hub, bearer

pytestmark = pytest.mark.timeout(60)


async def _setup(hub: Hub) -> None:
    assert await jobs_setup(hub, JOBS_SCHEMA({}))
    assert await frontend_setup(hub, FRONTEND_SCHEMA({}))


def _write_config(tmp_path: Path, text: str) -> None:
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "configuration.yaml").write_text(text)


async def _settings(http: aiohttp.ClientSession, base: str) -> dict[str, dict[str, Any]]:
    async with http.get(f"{base}/api/settings") as resp:
        assert resp.status == 200
        return {s["key"]: s for s in (await resp.json())["settings"]}


async def test_static_files_types_caching_and_no_traversal(tmp_path: Path) -> None:
    async with api_hub(tmp_path, setup=_setup) as (_hub, base, token), aiohttp.ClientSession() as http:
        async with http.get(f"{base}/") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/html")
            assert resp.headers["Cache-Control"] == "no-cache"
            assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
            assert '<script type="module" src="/main.js">' in await resp.text()
        async with http.get(f"{base}/main.js") as resp:
            assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
            etag = resp.headers["ETag"]
        async with http.get(f"{base}/main.js", headers={"If-None-Match": etag}) as resp:
            assert resp.status == 304
        async with http.get(f"{base}/cards/jobs-card.js") as resp:
            assert resp.status == 200
        async with http.get(f"{base}/style.css") as resp:
            assert resp.headers["Content-Type"].startswith("text/css")
        for bad in ("/pages/../../pyproject.toml", "/%2e%2e/pyproject.toml", "/nope.js", "/secrets/x.js"):
            async with http.get(f"{base}{bad}") as resp:
                assert resp.status == 404, bad
        # The static routes shadow nothing: /api still needs a token, /health still answers.
        async with http.get(f"{base}/api/states") as resp:
            assert resp.status == 401
        async with http.get(f"{base}/health/live") as resp:
            assert resp.status == 200
        async with http.get(f"{base}/auth/session") as resp:
            assert (await resp.json()) == {"authenticated": False}
        async with http.get(f"{base}/auth/session", headers=bearer(token)) as resp:
            assert (await resp.json())["authenticated"] is True


async def test_dashboard_default_put_validated_and_written_atomically(tmp_path: Path) -> None:
    async with (
        api_hub(tmp_path, setup=_setup) as (hub, base, token),
        aiohttp.ClientSession(headers=bearer(token)) as http,
    ):
        async with http.get(f"{base}/api/dashboard") as resp:
            body = await resp.json()
            assert body["source"] == "default"
            types = {c["type"] for v in body["dashboard"]["views"] for c in v["cards"]}
            assert {"status", "gauge", "jobs", "entities", "button", "history", "markdown", "assets"} <= types
        target = hub.config.config_dir / "dashboard.yaml"
        text = "# mine\nviews:\n  - title: A\n    cards:\n      - type: gauge\n        entity: sensor.cpu_percent\n"
        async with http.put(f"{base}/api/dashboard", json={"yaml": text}) as resp:
            assert resp.status == 200, await resp.text()
        assert target.read_text() == text  # written as typed, comment kept
        bad = "views:\n  - title: A\n    cards:\n      - type: gauge\n        entty: sensor.cpu_percent\n"
        async with http.put(f"{base}/api/dashboard", json={"yaml": bad}) as resp:
            assert resp.status == 400
            details = (await resp.json())["details"]
            assert any(d["line"] == 5 and "entty" in d["message"] for d in details), details
        async with http.put(f"{base}/api/dashboard", json={"dashboard": {"views": [{"cards": [{"title": "x"}]}]}}) as r:
            assert r.status == 400
            assert "type" in (await r.json())["message"]
        assert target.read_text() == text  # refused writes leave the file alone
        assert [p.name for p in target.parent.iterdir() if p.name.startswith(".dashboard")] == []
        async with http.get(f"{base}/api/dashboard") as resp:
            body = await resp.json()
            assert body["source"] == "user" and body["dashboard"]["views"][0]["title"] == "A"


async def test_yaml_check_returns_errors_at_editor_lines(tmp_path: Path) -> None:
    async with (
        api_hub(tmp_path, setup=_setup) as (_hub, base, token),
        aiohttp.ClientSession(headers=bearer(token)) as http,
    ):
        auto = (
            "id: a\nalias: A\ntriggers:\n  - trigger: state\n    entity_id: sensor.x\nactions:\n  - delay: 1\nmod: x\n"
        )
        async with http.post(f"{base}/api/frontend/yaml", json={"text": auto, "kind": "automation"}) as resp:
            errors = (await resp.json())["errors"]
            assert errors and errors[0]["line"] == 8 and "mod" in errors[0]["message"]
        async with http.post(f"{base}/api/frontend/yaml", json={"text": "a: [1,\nb: 2\n", "kind": "any"}) as resp:
            errors = (await resp.json())["errors"]
            assert errors[0]["line"] in (2, 3) and "invalid YAML" in errors[0]["message"]
        async with http.post(f"{base}/api/frontend/yaml", json={"text": "x: !secret obs_password\n"}) as resp:
            assert (await resp.json())["errors"]  # no secrets pulled into the browser
        async with http.post(f"{base}/api/frontend/yaml/dump", json={"data": {"b": 1, "a": [1, 2]}}) as resp:
            assert (await resp.json())["text"] == "b: 1\na:\n- 1\n- 2\n"


async def test_settings_sources_precedence_and_live_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_config(tmp_path, "jobs:\n  guardrails:\n    gpu_percent: 55   # mine\n")
    monkeypatch.setenv("PAUSE_WHEN_RECORDING", "false")
    async with (
        api_hub(tmp_path, setup=_setup) as (hub, base, token),
        aiohttp.ClientSession(headers=bearer(token)) as http,
    ):
        settings = await _settings(http, base)
        assert settings["jobs.guardrails.cpu_percent"]["source"] == "default"
        assert settings["jobs.guardrails.gpu_percent"]["source"] == "yaml"
        assert settings["jobs.guardrails.gpu_percent"]["where"] == "configuration.yaml:3"
        assert settings["jobs.guardrails.pause_when_recording"]["source"] == "env"
        assert settings["jobs.guardrails.pause_when_recording"]["where"] == "env:PAUSE_WHEN_RECORDING"

        async with http.put(f"{base}/api/settings", json={"jobs.guardrails.cpu_percent": 85}) as resp:
            assert resp.status == 200, await resp.text()
        guardrails = hub.data[JOBS].guardrails
        assert guardrails.cpu_percent == 85.0 and guardrails.cpu.threshold == 85.0
        assert guardrails.cpu.release_below == 75.0
        assert hub.states.get("switch.guardrails").attributes["cpu_percent"] == 85.0
        settings = await _settings(http, base)
        assert (
            settings["jobs.guardrails.cpu_percent"]["source"],
            settings["jobs.guardrails.cpu_percent"]["value"],
        ) == (
            "ui",
            85.0,
        )

        # YAML and env win and are never silently overridden: the write is refused, naming the place.
        async with http.put(f"{base}/api/settings", json={"jobs.guardrails.gpu_percent": 90}) as resp:
            assert resp.status == 400
            assert "configuration.yaml:3" in (await resp.json())["message"]
        async with http.put(f"{base}/api/settings", json={"jobs.guardrails.pause_when_recording": True}) as resp:
            assert resp.status == 400 and "PAUSE_WHEN_RECORDING" in (await resp.json())["message"]
        for bad in ({"jobs.guardrails.cpu_percent": 150}, {"nope": 1}, {"frontend.wizard_done": "yes"}):
            async with http.put(f"{base}/api/settings", json=bad) as resp:
                assert resp.status == 400, bad
        assert guardrails.cpu_percent == 85.0

    # Restart: the saved value is applied again at start.
    async with api_hub(tmp_path, setup=_setup) as (hub, base, token):
        assert hub.data[JOBS].guardrails.cpu.threshold == 85.0
        assert hub.states.get("switch.guardrails").attributes["cpu_percent"] == 85.0
        async with aiohttp.ClientSession(headers=bearer(token)) as http:
            async with http.put(f"{base}/api/settings", json={"jobs.guardrails.cpu_percent": None}) as resp:
                assert resp.status == 200
            settings = await _settings(http, base)
            assert settings["jobs.guardrails.cpu_percent"]["source"] == "default"
        assert hub.data[JOBS].guardrails.cpu.threshold == 70.0


async def test_tokens_list_create_revoke_owner_only(tmp_path: Path) -> None:
    async with api_hub(tmp_path, setup=_setup) as (hub, base, token):
        user_token = await create_token(hub.data[DATABASE], "deck", KIND_USER)
        async with aiohttp.ClientSession(headers=bearer(token)) as http:
            async with http.post(f"{base}/api/tokens", json={"name": "phone"}) as resp:
                assert resp.status == 201
                created = await resp.json()
                assert created["login_link"].endswith(created["token"])
            async with http.get(f"{base}/api/tokens") as resp:
                tokens = await resp.json()
                assert {t["name"] for t in tokens} >= {"test owner", "deck", "phone"}
                assert all("token" not in t for t in tokens)
                mine = next(t for t in tokens if t["current"])
                phone = next(t for t in tokens if t["name"] == "phone")
            async with http.delete(f"{base}/api/tokens/{mine['id']}") as resp:
                assert resp.status == 409
            async with http.delete(f"{base}/api/tokens/{phone['id']}") as resp:
                assert resp.status == 200
        async with aiohttp.ClientSession(headers=bearer(created["token"])) as http:
            async with http.get(f"{base}/api/") as resp:
                assert resp.status == 401  # revoked
        async with aiohttp.ClientSession(headers=bearer(user_token)) as http:
            async with http.post(f"{base}/api/tokens", json={"name": "more"}) as resp:
                assert resp.status == 403
