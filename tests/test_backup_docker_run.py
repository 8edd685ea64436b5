"""`streamops docker-run`: the command a Windows or Linux user pastes, and the optional update check
(off by default: no external call unless opted in)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from streamops.backup.docker_run import DockerRunError, DockerRunOptions, build_args, parse_drive, render
from streamops.backup.update_check import ENTITY_ID, is_newer
from streamops.cli import main as cli_main
from streamops.core import Hub
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent


def test_drive_letters_and_folders_map_to_mnt_drive() -> None:
    assert parse_drive("D:").host == "D:\\" and parse_drive("d").container == "/mnt/drive_d"
    folder = parse_drive("R:=D:\\OBS Recordings")
    assert (folder.host, folder.container) == ("D:\\OBS Recordings", "/mnt/drive_r")
    linux = parse_drive("rec=/srv/recordings/")
    assert (linux.host, linux.container) == ("/srv/recordings", "/mnt/drive_rec")
    for bad, message in (
        ("D:=recordings", "not a Windows path"),
        ("Recordings", "expected a drive letter"),
        ("rec=relative/path", "must be an absolute path"),
    ):
        with pytest.raises(DockerRunError, match=message):
            parse_drive(bad)


def test_bash_command_runs_as_written() -> None:
    opts = DockerRunOptions(
        drives=[parse_drive("rec=/srv/my recordings"), parse_drive("edit=/srv/edit")],
        shell="bash",
        recordings="/srv/my recordings/OBS",
        editing="/srv/edit",
        gpu=True,
        timezone="Europe/Berlin",
    )
    text = render(opts)
    # The shell's own parser gives back exactly the argv (quoting and continuations are right).
    assert shlex.split(text.replace("\\\n", " ")) == build_args(opts)
    args = build_args(opts)
    assert args[args.index("-p") + 1] == "127.0.0.1:7767:7767"  # never published on the LAN by default
    assert "STREAMOPS_BIND=0.0.0.0" in args and "--gpus" in args
    assert "STREAMOPS_RECORDINGS=/mnt/drive_rec/OBS" in args and "STREAMOPS_EDITING=/mnt/drive_edit" in args
    assert "/srv/my recordings:/mnt/drive_rec" in args and "--stop-timeout" in args


def test_powershell_and_cmd_continuations_and_quoting() -> None:
    drives = [parse_drive("D:"), parse_drive("E:=E:\\Stream Edits")]
    ps = render(DockerRunOptions(drives=drives, recordings="D:\\OBS", editing="E:\\Stream Edits\\Out"))
    assert ps.splitlines()[0] == "docker run `" and "-v 'E:\\Stream Edits:/mnt/drive_e'" in ps
    assert "STREAMOPS_RECORDINGS=/mnt/drive_d/OBS" in ps and "STREAMOPS_EDITING=/mnt/drive_e/Out" in ps
    assert "OBS_WS_URL=ws://host.docker.internal:4455" in ps
    cmd = render(DockerRunOptions(drives=drives, shell="cmd"))
    assert cmd.splitlines()[0] == "docker run ^" and '-v "E:\\Stream Edits:/mnt/drive_e"' in cmd
    with pytest.raises(DockerRunError, match="not inside any --drive"):
        build_args(DockerRunOptions(drives=drives, recordings="F:\\Elsewhere"))
    with pytest.raises(DockerRunError, match="same /mnt/drive_"):
        build_args(DockerRunOptions(drives=[parse_drive("D:"), parse_drive("d:=D:\\x")]))


def test_cli_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["docker-run", "--drive", "D:", "--recordings", "D:\\OBS", "--nats", "--shell", "bash"]) == 0
    out = capsys.readouterr().out
    assert "NATS_ENABLE=true" in out and "-p 7768:7768" in out and "streamops:latest" in out.splitlines()[-1]
    assert cli_main(["docker-run", "--drive", "nope"]) == 2
    assert "expected a drive letter" in capsys.readouterr().err
    # Also reachable as a real command.
    result = subprocess.run(
        [sys.executable, "-m", "streamops", "docker-run", "--drive", "D:"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0 and "/mnt/drive_d" in result.stdout


def test_version_comparison() -> None:
    assert is_newer("0.2.0", "0.1.0") and is_newer("1.10.0", "1.9.3")
    assert not is_newer("0.1.0", "0.1.0") and not is_newer("0.0.9", "0.1.0")


@pytest.fixture
async def fake_pypi() -> tuple[TestServer, list[str]]:
    hits: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.json_response({"info": {"version": "99.0.0"}})

    app = web.Application()
    app.router.add_get("/pypi/streamops/json", handler)
    server = TestServer(app)
    await server.start_server()
    yield server, hits
    await server.close()


async def _setup_backup(hub: Hub, config: dict[str, object]) -> None:
    from streamops.backup import CONFIG_SCHEMA, async_setup

    assert await async_setup(hub, CONFIG_SCHEMA(config))
    await hub.async_start()
    await hub.async_block_till_done()


async def test_update_check_is_off_by_default(db_hub: Hub, fake_pypi: tuple[TestServer, list[str]]) -> None:
    server, hits = fake_pypi
    from streamops.backup import CONFIG_SCHEMA

    assert CONFIG_SCHEMA({})["update_check"] is False
    await _setup_backup(db_hub, {"update_url": str(server.make_url("/pypi/streamops/json"))})
    assert hits == [] and db_hub.states.get(ENTITY_ID) is None


async def test_update_check_when_opted_in(db_hub: Hub, fake_pypi: tuple[TestServer, list[str]]) -> None:
    server, hits = fake_pypi
    await _setup_backup(db_hub, {"update_check": True, "update_url": str(server.make_url("/pypi/streamops/json"))})
    await wait_until(lambda: db_hub.states.get(ENTITY_ID) is not None)
    state = db_hub.states.get(ENTITY_ID)
    assert state.state == "on" and state.attributes["latest_version"] == "99.0.0"
    assert hits == ["/pypi/streamops/json"]
