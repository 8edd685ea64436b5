"""The container's entrypoint logic, run directly on the host: what runs for each ROLE, the supervisord
configuration, and the whole supervision chain (entrypoint → supervisord → `streamops run`) with a
SIGTERM that stops the hub cleanly and a staged restore applied before the hub starts."""

from __future__ import annotations

import asyncio
import configparser
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import aiohttp
import pytest
from mqtt_broker import free_port

from streamops.backup.archive import locations_for
from streamops.backup.restore import stage_restore
from streamops.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "container" / "entrypoint.py"
HEALTHCHECK = ROOT / "container" / "healthcheck.py"
SUPERVISORD = Path(sys.executable).parent / "supervisord"

pytestmark = pytest.mark.timeout(120)


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ep() -> ModuleType:
    return _load(ENTRYPOINT, "streamops_container_entrypoint")


def _names(ep: ModuleType, env: dict[str, str], data: Path = Path("/data")) -> list[tuple[str, list[str]]]:
    return [(p.name, p.argv[1:]) for p in ep.plan_programs(env, data)]


def test_role_selects_programs(ep: ModuleType, tmp_path: Path) -> None:
    assert _names(ep, {}) == [("hub", ["run", "--data", "/data"])]
    assert _names(ep, {"ROLE": "API"}) == [("hub", ["run", "--data", "/data"])]
    assert _names(ep, {"ROLE": "overlay", "NATS_ENABLE": "true"}) == [("hub", ["run", "--data", "/data"])]
    assert _names(ep, {"ROLE": "all", "NATS_ENABLE": "yes"}) == [
        ("nats", ["broker", "--data", "/data"]),
        ("hub", ["run", "--data", "/data"]),
    ]
    assert _names(ep, {"ROLE": "broker"}) == [("nats", ["broker", "--data", "/data"])]
    assert _names(ep, {"ROLE": "worker", "WORKER_ARGS": "--name nas --types media.proxy"}, tmp_path) == [
        ("worker", ["worker", "--data", str(tmp_path), "--name", "nas", "--types", "media.proxy"])
    ]
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "configuration.yaml").write_text("{}\n")
    assert _names(ep, {"ROLE": "worker"}, tmp_path)[0][1][-2:] == ["-c", str(tmp_path / "config")]
    with pytest.raises(ep.EntrypointError, match="ROLE must be one of all, api, worker, overlay, broker"):
        ep.plan_programs({"ROLE": "hub"}, Path("/data"))


def test_broker_rule_matches_the_remote_workers_integration(ep: ModuleType) -> None:
    from integrations.remote_workers.broker import broker_wanted

    for env in (
        {},
        {"ROLE": "broker"},
        {"NATS_ENABLE": "true"},
        {"ROLE": "api", "NATS_ENABLE": "1"},
        {"ROLE": "worker", "NATS_ENABLE": "true"},
        {"ROLE": "overlay", "NATS_ENABLE": "on"},
        {"NATS_ENABLE": "false"},
    ):
        assert ep.broker_wanted(env) == broker_wanted(env), env


def test_supervisord_conf_stops_in_reverse_order_within_the_grace_period(ep: ModuleType, tmp_path: Path) -> None:
    programs = ep.plan_programs({"NATS_ENABLE": "true", "WORKER_ARGS": ""}, Path("/data"))
    text = ep.supervisord_conf(programs, tmp_path, user="streamops")
    conf = configparser.RawConfigParser()
    conf.read_string(text)
    hub, nats = conf["program:hub"], conf["program:nats"]
    assert int(nats["priority"]) < int(hub["priority"])  # started first, stopped last
    assert nats["exitcodes"] == "0,1" and hub["exitcodes"] == "0"  # nats-server exits 1 after a clean stop
    assert hub["stopsignal"] == "TERM" and int(hub["stopwaitsecs"]) < 30  # below --stop-timeout 30
    assert hub["user"] == "streamops" and hub["stdout_logfile"] == "/dev/stdout"
    assert conf["supervisord"]["nodaemon"] == "true"
    assert conf["eventlistener:fatal"]["events"] == "PROCESS_STATE_FATAL"
    # A % in a command (e.g. in WORKER_ARGS) must not break supervisord's %(name)s expansion.
    odd = ep.Program("worker", ["streamops", "worker", "--name", "50%"], priority=20)
    assert "50%%" in ep.supervisord_conf([odd], tmp_path, user=None)


def test_plan_command_and_bad_role_exit_code(tmp_path: Path) -> None:
    env = {**os.environ, "ROLE": "broker", "STREAMOPS_DATA": str(tmp_path)}
    result = subprocess.run([sys.executable, str(ENTRYPOINT), "plan"], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and "[program:nats]" in result.stdout and "[program:hub]" not in result.stdout
    env["ROLE"] = "everything"
    result = subprocess.run([sys.executable, str(ENTRYPOINT)], env=env, capture_output=True, text=True)
    assert result.returncode == 2 and "ROLE must be one of" in result.stderr
    assert not (tmp_path / "db").exists()  # refused before touching the data folder


def test_data_layout_and_user_choice(ep: ModuleType, tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = ep.prepare_data(data)
    assert sorted(p.name for p in made) == sorted(["data", *ep.DATA_FOLDERS])
    assert ep.prepare_data(data) == []
    assert ep.choose_user(data, {}, euid=1234).user is None  # started with --user: nothing to switch
    assert ep.choose_user(data, {"PUID": "0"}, euid=0).uid == 0
    with pytest.raises(ep.EntrypointError, match="PUID and PGID must be numbers"):
        ep.choose_user(data, {"PUID": "me"}, euid=0)


def test_fatal_listener_stops_its_supervisor() -> None:
    """A program that keeps crashing goes FATAL: the listener SIGTERMs its parent (supervisord)."""
    payload = "processname:hub groupname:hub from_state:BACKOFF"
    header = (
        f"ver:3.0 server:supervisor serial:1 pool:fatal poolserial:1 eventname:PROCESS_STATE_FATAL len:{len(payload)}\n"
    )
    # The shell stands in for supervisord (it stays the listener's parent: a command follows).
    parent = subprocess.Popen(
        ["sh", "-c", f"{sys.executable} {ENTRYPOINT} fatal-listener; sleep 30"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None and parent.stdin is not None
    assert parent.stdout.readline() == "READY\n"
    parent.stdin.write(header + payload)
    parent.stdin.flush()
    assert parent.wait(timeout=20) == -signal.SIGTERM


def test_healthcheck_url(tmp_path: Path) -> None:
    hc = _load(HEALTHCHECK, "streamops_container_healthcheck")
    assert hc.hub_url({}) == "http://127.0.0.1:7767/health/live"
    assert hc.hub_url({"STREAMOPS_BIND": "0.0.0.0"}) == "http://127.0.0.1:7767/health/live"
    assert hc.hub_url({"STREAMOPS_BIND": "::1"}) == "http://[::1]:7767/health/live"
    assert hc.hub_url({"HEALTH_URL": "http://127.0.0.1:1/x"}) == "http://127.0.0.1:1/x"


# -- the supervision chain on the host ------------------------------------------------------------
def _seed(data: Path, port: int) -> None:
    """The shipped defaults on a free port (what a first run copies), without OBS (nothing to reach here)."""
    config = data / "config"
    shutil.copytree(ROOT / "config", config)
    text = (config / "configuration.yaml").read_text().replace("server_port: 7767", f"server_port: {port}")
    text, removed = re.subn(r"\nobs:\n(?:  .*\n)+", "\n", text)
    assert removed == 1
    (config / "configuration.yaml").write_text(text)


async def _start(data: Path, port: int) -> tuple[asyncio.subprocess.Process, Path]:
    log = data.parent / f"entrypoint-{port}.log"
    env = {
        **os.environ,
        "STREAMOPS_DATA": str(data),
        "PUID": "0",  # the host's pytest tmp folders are not reachable for uid 1000
        "ROLE": "all",
        "HEALTH_URL": f"http://127.0.0.1:{port}/health/live",
    }
    handle = log.open("ab")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ENTRYPOINT), stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    handle.close()
    try:
        async with asyncio.timeout(60):
            async with aiohttp.ClientSession() as session:
                while True:
                    assert proc.returncode is None, _text(log)
                    try:
                        async with session.get(f"http://127.0.0.1:{port}/health/live") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.2)
    except BaseException:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc, log


async def _stop(proc: asyncio.subprocess.Process, log: Path) -> None:
    proc.send_signal(signal.SIGTERM)  # what tini forwards on `docker stop`
    try:
        code = await asyncio.wait_for(proc.wait(), 40)
    except TimeoutError:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"supervisord did not stop within 40 s:\n{_text(log)}") from None
    assert code == 0, _text(log)


def _text(path: Path) -> str:
    return path.read_text(errors="replace")


def _healthcheck(port: int) -> int:
    env = {**os.environ, "HEALTH_URL": f"http://127.0.0.1:{port}/health/live"}
    return subprocess.run([sys.executable, str(HEALTHCHECK)], env=env).returncode


@pytest.mark.skipif(not SUPERVISORD.exists(), reason="supervisord not installed in this venv (pip install supervisor)")
async def test_supervised_hub_stops_cleanly_on_sigterm_and_applies_a_staged_restore(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    _seed(data, port)
    proc, log = await _start(data, port)
    try:
        assert await asyncio.to_thread(_healthcheck, port) == 0
        assert {"backup", "cache", "config", "db", "logs", "thumbs"} <= {p.name for p in data.iterdir()}
        # An online backup from the running hub, then a change, then a restore staged like the API does.
        assert await asyncio.to_thread(cli_main, ["backup", "--data", str(data)]) == 0
        (backup,) = (data / "backup").glob("streamops-backup-*.zip")
    finally:
        await _stop(proc, log)
    text = _text(log)
    assert "stopped: hub (exit status 0)" in text, text
    assert not (data / "db" / "streamops.db-wal").exists()  # the hub closed the database (WAL checkpointed)

    (data / "config" / "automations.yaml").write_text("[]\n")
    stage_restore(locations_for(data), backup)
    proc, log = await _start(data, port)
    await _stop(proc, log)
    text = _text(log)
    assert f"Restored {backup.name}" in text, text
    assert (data / "config" / "automations.yaml").read_text() != "[]\n"
    assert not (data / "backup" / "pending-restore.json").exists()
    assert list((data / "backup").glob("streamops-pre-restore-*.zip"))


def test_streamops_bind_overrides_the_http_listen_address(tmp_path: Path) -> None:
    """The container is told to listen on its interfaces by env, whatever the copied config says."""
    from streamops.bootstrap import check_config

    shutil.copytree(ROOT / "config", tmp_path / "config")
    plain = check_config(tmp_path / "config", {})
    assert plain.sections["http"]["server_host"] == "127.0.0.1"
    told = check_config(tmp_path / "config", {"STREAMOPS_BIND": "0.0.0.0"})
    assert not told.errors and told.sections["http"]["server_host"] == "0.0.0.0"
    assert "http.server_host = '0.0.0.0' (from STREAMOPS_BIND)" in told.overrides
