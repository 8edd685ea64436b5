"""Token auth against the real server: bearer tokens, the login link and its cookie, revocation,
first-run owner token, and the offline `streamops token` CLI on the live database."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
from pathlib import Path

import aiohttp
import pytest

from streamops.api import CONFIG_SCHEMA as HTTP_SCHEMA
from streamops.api import HTTP
from streamops.api import async_setup as http_setup
from streamops.api.auth import create_token, list_tokens, revoke_token, validate_token
from streamops.core import Hub
from streamops.recorder import CONFIG_SCHEMA as RECORDER_SCHEMA
from streamops.recorder import DATABASE
from streamops.recorder import async_setup as recorder_setup
from tests.helpers_api import api_hub, bearer


async def test_api_requires_a_valid_token(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (_hub, url, token), aiohttp.ClientSession() as session:
        for headers in ({}, bearer("not-a-token"), {"Authorization": f"Basic {token}"}, bearer("")):
            async with session.get(f"{url}/api/states", headers=headers) as resp:
                assert resp.status == 401
                body = await resp.json()
                assert body["code"] == "unauthorized"
                assert "Bearer" in body["message"]
        async with session.get(f"{url}/metrics") as resp:
            assert resp.status == 401
        async with session.get(f"{url}/api/states", headers=bearer(token)) as resp:
            assert resp.status == 200
            assert await resp.json() == []


async def test_tokens_are_stored_only_as_hashes(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (hub, _url, token):
        db = hub.data[DATABASE]
        rows = await db.fetchall("SELECT name, token_hash FROM so_tokens")
        assert all(token not in row["token_hash"] for row in rows)
        assert hashlib.sha256(token.encode()).hexdigest() in {row["token_hash"] for row in rows}
        raw = (tmp_path / "data" / "db" / "streamops.db").read_bytes()
        assert token.encode() not in raw


async def test_token_functions_create_validate_revoke_list(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (hub, url, _token):
        db = hub.data[DATABASE]
        deck = await create_token(db, "stream deck")
        row = await validate_token(db, deck)
        assert row is not None and row["name"] == "stream deck" and row["kind"] == "user"
        assert await validate_token(db, deck + "x") is None
        assert await validate_token(db, "") is None
        names = [r["name"] for r in await list_tokens(db)]
        assert names == ["test owner", "stream deck"]
        with pytest.raises(ValueError, match="empty"):
            await create_token(db, "  ")
        with pytest.raises(ValueError, match="kind"):
            await create_token(db, "x", kind="root")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/api/", headers=bearer(deck)) as resp:
                assert resp.status == 200
            assert await revoke_token(db, row["id"])
            assert not await revoke_token(db, row["id"])
            async with session.get(f"{url}/api/", headers=bearer(deck)) as resp:
                assert resp.status == 401
        assert [r["name"] for r in await list_tokens(db)] == ["test owner"]
        assert len(await list_tokens(db, include_revoked=True)) == 2


async def test_login_link_sets_session_cookie(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (_hub, url, token):
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for an IP host
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(f"{url}/auth/login", params={"token": "wrong"}, allow_redirects=False) as resp:
                assert resp.status == 401
                assert "token" in (await resp.json())["message"]
            async with session.get(f"{url}/auth/login", params={"token": token}, allow_redirects=False) as resp:
                assert resp.status == 302
                assert resp.headers["Location"] == "/"
                set_cookie = resp.headers["Set-Cookie"]
                assert "HttpOnly" in set_cookie
                assert "SameSite=Strict" in set_cookie
                assert token not in set_cookie  # the cookie holds a session secret, not the token
            cookie = {c.key: c.value for c in jar}["streamops_session"]
            assert cookie and cookie != token
            async with session.get(f"{url}/api/states") as resp:
                assert resp.status == 200
            # Same-origin browser POST with the cookie works.
            async with session.post(
                f"{url}/api/states/sensor.from_browser", json={"state": "1"}, headers={"Origin": url}
            ) as resp:
                assert resp.status == 201
            # A redirect target off this site is ignored.
            async with session.get(
                f"{url}/auth/login", params={"token": token, "next": "//evil.example/"}, allow_redirects=False
            ) as resp:
                assert resp.headers["Location"] == "/"
            cookie = {c.key: c.value for c in jar}["streamops_session"]
            async with session.post(f"{url}/auth/logout", headers={"Origin": url}) as resp:
                assert resp.status == 200
        async with aiohttp.ClientSession(cookies={"streamops_session": cookie}) as session:
            async with session.get(f"{url}/api/states") as resp:
                assert resp.status == 401  # the session ended server side


async def test_revoking_a_token_ends_its_browser_sessions(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (hub, url, _token):
        db = hub.data[DATABASE]
        deck = await create_token(db, "laptop")
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            async with session.get(f"{url}/auth/login", params={"token": deck}) as resp:
                assert resp.status == 404  # redirected to "/", which nobody serves yet
            async with session.get(f"{url}/api/") as resp:
                assert resp.status == 200
            row = await validate_token(db, deck)
            assert row is not None
            await revoke_token(db, row["id"])
            async with session.get(f"{url}/api/") as resp:
                assert resp.status == 401


async def test_bad_bearer_header_is_not_rescued_by_cookie(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (_hub, url, token):
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            await (await session.get(f"{url}/auth/login", params={"token": token}, allow_redirects=False)).release()
            async with session.get(f"{url}/api/", headers=bearer("wrong")) as resp:
                assert resp.status == 401


async def _start_hub(data: Path, config: Path) -> Hub:
    hub = Hub(config, data)
    assert await recorder_setup(hub, RECORDER_SCHEMA({}))
    assert await http_setup(hub, HTTP_SCHEMA({"server_port": 0}))
    await hub.async_start()
    return hub


async def test_first_run_prints_owner_login_link_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "config").mkdir()
    caplog.set_level(logging.WARNING, logger="streamops.api")
    hub = await _start_hub(tmp_path / "data", tmp_path / "config")
    try:
        url = hub.data[HTTP].url
        out = capsys.readouterr().out
        assert f"{url}/auth/login?token=" in out
        link = next(word for word in out.split() if word.startswith(f"{url}/auth/login?token="))
        # The log (kept on disk as JSON lines) says a link was printed, but never carries the token.
        assert any("login link is printed" in record.getMessage() for record in caplog.records)
        assert not any(link.split("token=", 1)[1] in record.getMessage() for record in caplog.records)
        token = link.split("token=", 1)[1]
        rows = await list_tokens(hub.data[DATABASE])
        assert [(r["name"], r["kind"]) for r in rows] == [("owner", "owner")]
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            await (await session.get(link, allow_redirects=False)).release()
            async with session.get(f"{url}/api/states") as resp:
                assert resp.status == 200
            async with session.get(f"{url}/api/states", headers=bearer(token)) as resp:
                assert resp.status == 200
    finally:
        await hub.async_stop()
    caplog.clear()
    hub = await _start_hub(tmp_path / "data", tmp_path / "config")
    try:
        assert "auth/login?token=" not in capsys.readouterr().out
        assert not any("auth/login" in record.getMessage() for record in caplog.records)
    finally:
        await hub.async_stop()


async def _cli(*args: str, data: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streamops",
        "token",
        "--data",
        str(data),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_token_cli_works_on_the_live_database(tmp_path: Path) -> None:
    async with api_hub(tmp_path) as (_hub, url, _token), aiohttp.ClientSession() as session:
        data = tmp_path / "data"
        code, out, err = await _cli("create", "stream deck", data=data)
        assert code == 0, err
        new_token = out.strip()
        assert len(new_token) >= 40 and "shown only this once" in err
        async with session.get(f"{url}/api/", headers=bearer(new_token)) as resp:
            assert resp.status == 200
        code, out, err = await _cli("list", data=data)
        assert code == 0, err
        assert "stream deck" in out and "test owner" in out and new_token not in out
        line = next(line for line in out.splitlines() if "stream deck" in line)
        token_id = line.split()[0]
        code, out, err = await _cli("revoke", token_id, data=data)
        assert code == 0, err
        async with session.get(f"{url}/api/", headers=bearer(new_token)) as resp:
            assert resp.status == 401  # no cache: revocation is immediate
        code, out, err = await _cli("revoke", token_id, data=data)
        assert code == 1 and "no active token" in err
