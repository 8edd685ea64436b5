"""Remote worker pieces without worker processes: payload validation, path mapping, the worker
settings from flags, and the broker config file run by a real nats-server with credentials."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import nats
import pytest
import voluptuous as vol

from integrations.remote_workers.broker import broker_command, broker_config_text, broker_wanted, write_broker_config
from integrations.remote_workers.cli import register, settings_from_args
from integrations.remote_workers.config import CONFIG_SCHEMA, connect_options
from integrations.remote_workers.protocol import MAX_MESSAGE_BYTES, JobMessage, PathMap, ProtocolError, parse_job
from tests.nats_server import free_port, wait_port


def _job(**changes: object) -> bytes:
    data = {"v": 1, "job_id": 7, "attempt": 1, "type": "media.proxy", "params": {"input": "/a.mkv"}}
    data.update(changes)
    return json.dumps(data).encode()


def test_job_messages_are_data_only() -> None:
    job = parse_job(JobMessage(3, 2, "media.thumbnail", {"input": "/x.mov", "width": 64}).encode())
    assert (job.job_id, job.attempt, job.type, job.params) == (
        3,
        2,
        "media.thumbnail",
        {"input": "/x.mov", "width": 64},
    )
    for bad, words in (
        (b"not json", "not JSON"),
        (_job(params={"command": "rm -rf /"}), "command-like"),
        (_job(params={"argv": ["ffmpeg"]}), "command-like"),
        (_job(params=[1, 2]), "params must be an object"),
        (_job(type="media.proxy; rm"), "type"),
        (_job(job_id=0), "job_id"),
        (_job(v=99), "v"),
        (
            b'{"v": 1, "job_id": 1, "attempt": 1, "type": "a.b", "params": {"x": "' + b"y" * MAX_MESSAGE_BYTES + b'"}}',
            "exceeds",
        ),
    ):
        with pytest.raises(ProtocolError, match=words):
            parse_job(bad)


def test_path_map_whole_components_both_ways_and_outside_paths() -> None:
    pm = PathMap({"/mnt/rec": "/volume1/rec", "/mnt/rec/edit": "/ssd/edit"})
    params = {"input": "/mnt/rec/a.mkv", "output": "/mnt/rec/edit/a.mov", "other": "/mnt/recordings/x", "n": 3}
    mapped = pm.to_worker(params)
    assert mapped == {"input": "/volume1/rec/a.mkv", "output": "/ssd/edit/a.mov", "other": "/mnt/recordings/x", "n": 3}
    assert pm.to_hub({"output": "/ssd/edit/a.mov", "list": ["/volume1/rec/b"]}) == {
        "output": "/mnt/rec/edit/a.mov",
        "list": ["/mnt/rec/b"],
    }
    assert pm.outside_paths(mapped) == ["/mnt/recordings/x"]
    assert pm.outside_paths({"p": "/volume1/rec/../../etc/passwd"}) == ["/volume1/rec/../../etc/passwd"]
    assert PathMap({}).outside_paths({"p": "/anything"}) == []  # no mapping: same machine, unrestricted


def test_config_credentials_and_defaults() -> None:
    config = CONFIG_SCHEMA({})
    assert config["enabled"] is False and config["url"] == "nats://127.0.0.1:7768"
    with pytest.raises(vol.Invalid, match="either token or user/password"):
        CONFIG_SCHEMA({"token": "t", "user": "u", "password": "p"})
    with pytest.raises(vol.Invalid, match="together"):
        CONFIG_SCHEMA({"user": "u"})
    with pytest.raises(vol.Invalid, match="nats://HOST:PORT"):
        CONFIG_SCHEMA({"url": "http://x"})
    with pytest.raises(vol.Invalid, match="worker name"):
        CONFIG_SCHEMA({"worker": {"name": "Bad Name!"}})
    options = connect_options(CONFIG_SCHEMA({"user": "u", "password": "p"}), "n")
    assert options["user"] == "u" and options["password"] == "p" and options["max_reconnect_attempts"] == -1


def test_worker_settings_from_flags(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "worker",
            "--nats",
            "nats://10.0.0.2:7768",
            "--name",
            "nas",
            "--types",
            "media.proxy,test.slow",
            "--path-map",
            "/mnt/rec=/volume1/rec",
            "--data",
            str(tmp_path),
            "--concurrency",
            "3",
        ]
    )
    settings = settings_from_args(args, {"NATS_TOKEN": "s3cret"})
    assert settings.connection["url"] == "nats://10.0.0.2:7768" and settings.connection["token"] == "s3cret"
    assert settings.job_types == ["media.proxy", "test.slow"] and settings.concurrency == 3
    assert settings.path_map == {"/mnt/rec": "/volume1/rec"}
    assert settings.data_dir == tmp_path.resolve() / "worker-nas"


def test_broker_wanted_by_role_and_nats_enable() -> None:
    assert broker_wanted({"ROLE": "broker"})
    assert broker_wanted({"NATS_ENABLE": "true"})
    assert broker_wanted({"ROLE": "api", "NATS_ENABLE": "1"})
    assert not broker_wanted({"ROLE": "worker", "NATS_ENABLE": "true"})
    assert not broker_wanted({})
    assert "jetstream" in broker_config_text(Path("/s"))


async def test_generated_broker_config_runs_nats_server_with_token(tmp_path: Path) -> None:
    port = free_port()
    conf = write_broker_config(tmp_path, {"NATS_TOKEN": "tok-123"}, port=port)
    assert oct(conf.stat().st_mode & 0o777) == "0o600"
    argv = broker_command(conf)
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, waited on below
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_port(port)
        nc = await nats.connect(f"nats://127.0.0.1:{port}", token="tok-123", allow_reconnect=False)
        js = nc.jetstream()
        info = await js.account_info()  # JetStream is on
        assert info is not None
        await nc.close()
        with pytest.raises(Exception):  # noqa: B017 - any refusal will do
            await nats.connect(f"nats://127.0.0.1:{port}", token="wrong", allow_reconnect=False, connect_timeout=2)
    finally:
        proc.terminate()
        proc.wait(10)
