"""The whole product as a user meets it: `streamops check-config` and `streamops run` as real processes."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.mqtt_broker import free_port

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config"

pytestmark = pytest.mark.timeout(120)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamops", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_check_config_accepts_the_shipped_defaults() -> None:
    result = run_cli("check-config", "-c", str(SHIPPED))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration valid" in result.stdout


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"configuration.yaml": "http:\n\tserver_port: 1\n"}, r"configuration\.yaml:2: .*tab"),
        (
            {"configuration.yaml": "http:\n  server_prot: 7767\n"},
            r"configuration\.yaml:2: .*server_prot.*did you mean 'server_port'",
        ),
        ({"configuration.yaml": "recorder:\n  purge_keep_days: soon\n"}, r"configuration\.yaml:2: .*purge_keep_days"),
        (
            {"configuration.yaml": "obs:\n  password: !secret nope\n", "secrets.yaml": "x: 1\n"},
            r"configuration\.yaml:2: .*secret 'nope'",
        ),
        ({"configuration.yaml": "recorder: !include missing.yaml\n"}, r"configuration\.yaml:1: .*missing\.yaml"),
        (
            {"configuration.yaml": "jobs: !include jobs.yaml\n", "jobs.yaml": "guardrails:\n  cpu_percent: lots\n"},
            r"jobs\.yaml:2: .*cpu_percent",
        ),
        (
            {
                "configuration.yaml": "automation: !include automations.yaml\n",
                "automations.yaml": "- id: a\n  triggers:\n    - trigger: evnt\n  actions: []\n",
            },
            r"automations\.yaml:3: .*'evnt'.*did you mean",
        ),
    ],
    ids=[
        "yaml-syntax",
        "unknown-key",
        "wrong-type",
        "missing-secret",
        "missing-include",
        "error-in-include",
        "automation-trigger",
    ],
)
def test_check_config_names_file_and_line(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = run_cli("check-config", "-c", str(tmp_path))
    assert result.returncode == 1
    assert re.search(expected, result.stdout), result.stdout


@asynccontextmanager
async def running_hub(
    config_dir: Path, data_dir: Path, port: int
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """`streamops run` as a real process; yields the login link it prints on first run ('' later)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streamops", "run", "-c", str(config_dir), "--data", str(data_dir),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    link = ""
    try:
        async with asyncio.timeout(60):
            async with aiohttp.ClientSession() as session:
                while True:
                    try:
                        async with session.get(f"http://127.0.0.1:{port}/health/live") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.1)
        # The first-run link is printed before the port answers; read what is buffered so far.
        output = b""
        try:
            while True:
                output += await asyncio.wait_for(proc.stdout.read(65536), 0.5)
                if b"auth/login?token=" in output or not output:
                    break
        except TimeoutError:
            pass
        match = re.search(rb"http://\S+/auth/login\?token=(\S+)", output)
        link = match.group(1).decode() if match else ""
        yield link, proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                raise AssertionError("streamops run did not stop within 30 s of SIGTERM") from None


def _config_with_port(tmp_path: Path, port: int) -> Path:
    config_dir = tmp_path / "config"
    shutil.copytree(SHIPPED, config_dir)
    text = (config_dir / "configuration.yaml").read_text().replace("server_port: 7767", f"server_port: {port}")
    (config_dir / "configuration.yaml").write_text(text)
    return config_dir


async def test_run_shipped_defaults_answers_states_with_token_and_keeps_them(tmp_path: Path) -> None:
    port = free_port()
    config_dir = _config_with_port(tmp_path, port)
    data_dir = tmp_path / "data"
    base = f"http://127.0.0.1:{port}"
    async with running_hub(config_dir, data_dir, port) as (token, proc):
        assert token, "first run must print a login link"
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/api/states") as resp:
                assert resp.status == 401
            headers = {"Authorization": f"Bearer {token}"}
            async with session.get(f"{base}/api/states", headers=headers) as resp:
                assert resp.status == 200
                states = {s["entity_id"]: s for s in await resp.json()}
            assert "automation.post_recording" in states
            async with session.get(f"{base}/health/ready") as resp:
                assert resp.status == 200
            async with session.post(
                f"{base}/api/states/sensor.restart_probe",
                headers=headers,
                json={"state": "kept", "attributes": {"n": 1}},
            ) as resp:
                assert resp.status in (200, 201)
    assert proc.returncode == 0
    async with running_hub(config_dir, data_dir, port) as (second_token, _):
        assert second_token == "", "the login link is shown only on the first run"
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
            async with session.get(f"{base}/api/states/sensor.restart_probe") as resp:
                assert resp.status == 200
                body = await resp.json()
    assert body["state"] == "kept" and body["attributes"]["n"] == 1


async def test_invalid_config_starts_safe_mode_showing_errors(tmp_path: Path) -> None:
    port = free_port()
    config_dir = _config_with_port(tmp_path, port)
    with (config_dir / "configuration.yaml").open("a") as handle:
        handle.write("\njobs_typo: {}\n")
    async with running_hub(config_dir, tmp_path / "data", port) as (token, _):
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
            async with session.get(f"{base}/health/ready") as resp:
                assert resp.status == 503
            async with session.get(f"{base}/api/config") as resp:
                config = await resp.json()
            async with session.get(f"{base}/api/states") as resp:
                entity_ids = {s["entity_id"] for s in await resp.json()}
    assert config["safe_mode"] is True
    assert any(re.match(r"configuration\.yaml:\d+: .*jobs_typo", e) for e in config["config_errors"]), config
    # Nothing but the safe-mode components started: no automations, no drives.
    assert not any(e.startswith(("automation.", "sensor.drive_")) for e in entity_ids), entity_ids


def test_python_dash_m_and_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("streamops ")


async def test_native_run_applies_a_staged_restore_before_starting(tmp_path: Path) -> None:
    from streamops.backup.archive import create_backup, locations_for
    from streamops.backup.restore import stage_restore

    port = free_port()
    config_dir = _config_with_port(tmp_path, port)
    data_dir = tmp_path / "data"
    async with running_hub(config_dir, data_dir, port):
        pass  # first run: database and owner token exist
    where = locations_for(data_dir, config_dir)
    original = (config_dir / "automations.yaml").read_text()
    archive = create_backup(where, hub_running=False)
    (config_dir / "automations.yaml").write_text("[]  # changed after the backup\n")
    stage_restore(where, archive)
    async with running_hub(config_dir, data_dir, port) as (_, proc):
        pass
    assert proc.returncode == 0
    assert (config_dir / "automations.yaml").read_text() == original
    assert not (where.backup_dir / "pending-restore.json").exists()
