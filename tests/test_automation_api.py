"""REST API for automations on a real aiohttp server, writing back to YAML (comments kept), and the
`streamops simulate` CLI against a real config directory with the real media/files/assets services."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from helpers_automation import register_fake_services, setup_automations

from streamops.automation import async_subscribe_trigger
from streamops.automation.http import register_routes
from streamops.cli import main as cli_main
from streamops.core import Hub

AUTOMATIONS = """\
# My automations — this comment must survive API edits.
- id: first   # the first one
  alias: First
  triggers: [{trigger: event, event_type: go}]
  actions:
    - action: test.record  # keep me
# A second one
- id: second
  alias: Second
  triggers: [{trigger: event, event_type: go2}]
  actions: [{action: test.record}]
"""


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[TestClient]:
    register_fake_services(hub)
    await setup_automations(hub, AUTOMATIONS, pack=True)
    app = web.Application()
    register_routes(app, hub)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_list_and_get(client: TestClient, hub: Hub) -> None:
    listing = await (await client.get("/api/automations")).json()
    ids = [a["id"] for a in listing]
    assert ids[-2:] == ["first", "second"] and "post_recording" in ids
    first = next(a for a in listing if a["id"] == "first")
    assert first["source"] == {"file": "automations.yaml", "line": 2, "origin": "user"}
    assert first["state"] == "on" and first["entity_id"] == "automation.first"
    one = await (await client.get("/api/automations/first")).json()
    assert one["config"]["actions"] == [{"action": "test.record"}]
    assert (await client.get("/api/automations/nope")).status == 404


async def test_create_update_delete_keep_comments(client: TestClient, hub: Hub) -> None:
    path = hub.config.config_dir / "automations.yaml"
    created = await client.post(
        "/api/automations",
        json={
            "id": "third",
            "alias": "Third",
            "triggers": [{"trigger": "event", "event_type": "go3"}],
            "actions": [{"action": "test.record", "data": {"n": 3}}],
        },
    )
    assert created.status == 201, await created.text()
    text = path.read_text()
    assert "# My automations" in text and "# keep me" in text and "id: third" in text
    assert hub.states.get("automation.third").state == "on"

    updated = await client.put(
        "/api/automations/second",
        json={
            "alias": "Second, renamed",
            "triggers": [{"trigger": "event", "event_type": "go2"}],
            "actions": [{"action": "test.record"}],
        },
    )
    assert updated.status == 200, await updated.text()
    text = path.read_text()
    assert "alias: Second, renamed" in text and "# A second one" in text and "# the first one" in text
    assert hub.states.get("automation.second").attributes["friendly_name"] == "Second, renamed"

    deleted = await client.delete("/api/automations/third")
    assert deleted.status == 200
    assert "id: third" not in path.read_text() and hub.states.get("automation.third") is None


async def test_invalid_writes_are_refused_and_leave_the_file_alone(client: TestClient, hub: Hub) -> None:
    path = hub.config.config_dir / "automations.yaml"
    before = path.read_text()
    response = await client.put(
        "/api/automations/first",
        json={"triggers": [{"trigger": "stat", "entity_id": "sensor.x"}], "actions": [{"action": "test.record"}]},
    )
    assert response.status == 400
    body = await response.json()
    assert any("unknown trigger platform 'stat'" in e for e in body["errors"])
    assert path.read_text() == before
    assert (await client.post("/api/automations", data=b"{not json")).status == 400
    clash = await client.post("/api/automations", json={"id": "first", "triggers": [], "actions": []})
    assert clash.status == 409


async def test_editing_a_default_writes_an_override_and_defaults_cannot_be_deleted(
    client: TestClient, hub: Hub
) -> None:
    response = await client.put(
        "/api/automations/post_recording",
        json={"use_blueprint": {"path": "post_recording.yaml", "input": {"editing_drive": "ssd"}}},
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["source"]["origin"] == "user" and body["source"]["file"] == "automations.yaml"
    assert "editing_drive: ssd" in (hub.config.config_dir / "automations.yaml").read_text()
    # Now it is the user's: deleting removes the override and the shipped default comes back.
    assert (await client.delete("/api/automations/post_recording")).status == 200
    back = await (await client.get("/api/automations/post_recording")).json()
    assert back["source"]["origin"] == "default"
    refused = await client.delete("/api/automations/post_recording")
    assert refused.status == 400 and "shipped default" in (await refused.json())["message"]


async def test_reload_endpoint_refuses_invalid_yaml(client: TestClient, hub: Hub) -> None:
    (hub.config.config_dir / "automations.yaml").write_text("- id: x\n  triggers: [{trigger: nope}]\n  actions: []\n")
    response = await client.post("/api/automations/reload")
    assert response.status == 400
    body = await response.json()
    assert body["errors"][0].startswith("automations.yaml:2: unknown trigger platform 'nope'")
    assert hub.states.get("automation.first").state == "on"


async def test_traces_and_simulate_endpoints(client: TestClient, hub: Hub) -> None:
    hub.bus.async_fire("go")
    await hub.async_block_till_done()
    traces = await (await client.get("/api/automations/first/traces?limit=5")).json()
    assert len(traces) == 1 and traces[0]["state"] == "finished"
    assert traces[0]["steps"][0]["input"] == {"action": "test.record", "data": {}}
    hub.states.async_set("sensor.drive_editing_free", "1", {"path": "/mnt/f"})
    response = await client.post("/api/automations/post_recording/simulate", json={"file": "/mnt/a/r.mkv"})
    result = await response.json()
    assert response.status == 200 and result["ok"], result
    assert result["plan"][0]["action"] == "media.remux" and "+faststart" in result["plan"][0]["result"]["command"]
    assert result["trace"]["dry_run"] is True
    bad = await client.post("/api/automations/first/simulate", json={"file": 3})
    assert bad.status == 400


async def test_subscribe_trigger_hook(hub: Hub) -> None:
    fired: list[dict] = []
    unsub = await async_subscribe_trigger(
        hub, {"platform": "state", "entity_id": "sensor.obs_scene", "to": "Live"}, lambda v, c: fired.append(v)
    )
    hub.states.async_set("sensor.obs_scene", "Live")
    await hub.async_block_till_done()
    assert fired[0]["trigger"]["to_state"]["state"] == "Live"
    unsub()
    with pytest.raises(ValueError, match="unknown trigger platform 'sate'"):
        await async_subscribe_trigger(hub, {"trigger": "sate"}, lambda v, c: None)


def test_simulate_cli_with_real_services(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recordings, editing, config = tmp_path / "rec", tmp_path / "edit", tmp_path / "config"
    for folder in (recordings, editing, config):
        folder.mkdir()
    video = recordings / "session.mkv"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10",
            "-f",
            "lavfi",
            "-i",
            "sine",
            "-t",
            "1",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            str(video),
        ],
        check=True,
    )
    (config / "configuration.yaml").write_text(
        f"automation: !include automations.yaml\ndrives:\n  recordings:\n    path: {recordings}\n"
        f"  editing:\n    path: {editing}\n"
    )
    (config / "automations.yaml").write_text(
        "- name: Remux only\n  when: {event: file_closed, path_glob: '**/*.mkv'}\n"
        "  do:\n    - ffmpeg_remux: {container: mov, faststart: true}\n"
    )
    code = cli_main(["simulate", "remux_only", "--file", str(video), "-c", str(config), "--data", str(tmp_path / "d")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "media.remux" in out and "+faststart" in out and str(recordings / "session.mov") in out
    assert sorted(p.name for p in recordings.iterdir()) == ["session.mkv"]  # nothing was done
    assert cli_main(["simulate", "nope", "--file", str(video), "-c", str(config), "--data", str(tmp_path / "d")]) == 2
