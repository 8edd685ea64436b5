"""Automation config: FILE:LINE errors, reload (invalid YAML keeps the old set; runs of changed
automations finish under the old definition), the default pack and the original rule format."""

from __future__ import annotations

import asyncio
from pathlib import Path

from helpers_automation import register_fake_services, setup_automations

from streamops.automation import async_simulate, validate_automations
from streamops.automation.config import load_default_pack
from streamops.config.loading import load_configuration
from streamops.core import Hub, ServiceError


def errors_for(config_dir: Path, automations_yaml: str) -> list[str]:
    (config_dir / "configuration.yaml").write_text("automation: !include automations.yaml\n")
    (config_dir / "automations.yaml").write_text(automations_yaml)
    loaded = load_configuration(config_dir)
    assert not loaded.errors
    return [str(e) for e in validate_automations(config_dir, loaded.config.get("automation"))]


def test_invalid_automations_name_file_and_line(tmp_path: Path) -> None:
    errors = errors_for(
        tmp_path,
        """\
- id: ok_one
  triggers: [{trigger: event, event_type: a}]
  actions: [{action: test.record}]
- id: bad_one
  triggers:
    - trigger: stat
      entity_id: sensor.x
    - trigger: state
      entity_id: not an entity
  conditions:
    - condition: numeric_state
      entity_id: sensor.x
  actions:
    - action: media.remux
      dta: {}
    - delay: "soon"
    - wait_template: "{{ unclosed"
- id: bad_two
  mode: sometimes
  triggers: [{trigger: event, event_type: a}]
  actions: [{frobnicate: 1}]
""",
    )
    assert any(
        e.startswith("automations.yaml:6: unknown trigger platform 'stat' (did you mean \"state\"?)") for e in errors
    ), errors
    assert any(e.startswith("automations.yaml:9: invalid entity id 'not an entity'") for e in errors), errors
    assert "automations.yaml:11: numeric_state condition needs 'above', 'below' or both" in errors
    assert any(e.startswith("automations.yaml:15: unknown key 'dta' (did you mean \"data\"?)") for e in errors), errors
    assert any(e.startswith("automations.yaml:16: invalid time period 'soon'") for e in errors), errors
    assert any(e.startswith("automations.yaml:17: invalid template") for e in errors), errors
    assert any(e.startswith("automations.yaml:19: unknown mode 'sometimes'") for e in errors), errors
    assert any(e.startswith("automations.yaml:21: unknown action with keys frobnicate") for e in errors), errors


def test_duplicate_ids_and_missing_parts(tmp_path: Path) -> None:
    errors = errors_for(
        tmp_path,
        """\
- id: same
  triggers: [{trigger: event, event_type: a}]
  actions: [{action: test.record}]
- id: same
  triggers: [{trigger: event, event_type: a}]
  actions: [{action: test.record}]
- id: no_actions
  triggers: [{trigger: event, event_type: a}]
""",
    )
    assert "automations.yaml:4: duplicate automation id 'same' (first defined at automations.yaml:1)" in errors
    assert "automations.yaml:7: an automation needs 'actions:'" in errors


async def test_reload_with_invalid_yaml_keeps_the_old_set(hub: Hub) -> None:
    calls = register_fake_services(hub)
    manager = await setup_automations(
        hub, "- id: a\n  triggers: [{trigger: event, event_type: go}]\n  actions: [{action: test.record}]\n"
    )
    automations = hub.config.config_dir / "automations.yaml"
    automations.write_text("- id: a\n  triggers: [{trigger: evnt, event_type: go}]\n  actions: []\n")
    try:
        await hub.services.async_call("automation", "reload")
    except ServiceError as err:
        assert "automations.yaml:2: unknown trigger platform 'evnt'" in str(err)
        assert "previous ones keep running" in str(err)
    else:
        raise AssertionError("reload of invalid YAML must fail")
    automations.write_text("- id: a\n  triggers: [{trigger: event, event_type: go}\n")  # YAML syntax error
    try:
        await hub.services.async_call("automation", "reload")
    except ServiceError as err:
        assert "automations.yaml:" in str(err)
    else:
        raise AssertionError("reload of broken YAML must fail")
    hub.bus.async_fire("go")
    await hub.async_block_till_done()
    assert len(calls.items) == 1 and list(manager.entities) == ["a"]


async def test_reload_applies_changes_and_lets_old_runs_finish(hub: Hub) -> None:
    calls = register_fake_services(hub)
    manager = await setup_automations(
        hub,
        """
- id: keep
  triggers: [{trigger: event, event_type: k}]
  actions: [{action: test.record, data: {v: keep}}]
- id: change
  triggers: [{trigger: event, event_type: go}]
  actions:
    - wait_template: "{{ is_state('input_boolean.release', 'on') }}"
    - action: test.record
      data: {v: old}
- id: remove
  triggers: [{trigger: event, event_type: r}]
  actions: [{action: test.record}]
""",
    )
    keep_entity = manager.get("keep")
    hub.bus.async_fire("go")
    await asyncio.sleep(0.02)
    assert manager.get("change").script.runs == 1
    (hub.config.config_dir / "automations.yaml").write_text(
        """
- id: keep
  triggers: [{trigger: event, event_type: k}]
  actions: [{action: test.record, data: {v: keep}}]
- id: change
  triggers: [{trigger: event, event_type: go}]
  actions: [{action: test.record, data: {v: new}}]
- id: added
  triggers: [{trigger: event, event_type: n}]
  actions: [{action: test.record, data: {v: added}}]
"""
    )
    await hub.services.async_call("automation", "reload")
    assert manager.get("keep") is keep_entity  # unchanged: untouched
    assert sorted(manager.entities) == ["added", "change", "keep"]
    assert hub.states.get("automation.remove") is None
    hub.bus.async_fire("go")  # the new definition runs at once, next to the old run
    hub.bus.async_fire("n")
    await asyncio.sleep(0.02)
    assert [c.data["v"] for c in calls.items] == ["new", "added"]
    hub.states.async_set("input_boolean.release", "on")
    await hub.async_block_till_done()
    assert [c.data["v"] for c in calls.items] == ["new", "added", "old"]  # the old run finished
    states = [t["state"] for t in await manager.traces.get("change")]
    assert states == ["finished", "finished"]


async def test_turned_off_state_survives_reload(hub: Hub) -> None:
    register_fake_services(hub)
    manager = await setup_automations(
        hub, "- id: a\n  triggers: [{trigger: event, event_type: go}]\n  actions: [{action: test.record}]\n"
    )
    await hub.services.async_call("automation", "turn_off", {"entity_id": "automation.a"})
    (hub.config.config_dir / "automations.yaml").write_text(
        "- id: a\n  triggers: [{trigger: event, event_type: go2}]\n  actions: [{action: test.record}]\n"
    )
    await manager.async_reload()
    assert hub.states.get("automation.a").state == "off"


# -- the original rule format ------------------------------------------------------------------------
ORIGINAL_RULE = """
- name: Remux-MKV-to-MOV-and-Move
  enabled: true
  priority: 10
  when:
    any:
      - event: file_closed
        path_glob: "/mnt/drive_a/Recordings/**/*.mkv"
        min_quiet_seconds: 45
  do:
    - ffmpeg_remux:
        container: mov
        faststart: true
    - move:
        dest: "/mnt/drive_f/Editing/{Game}/{YYYY}/{MM}/{DD}/"
    - write_sidecar:
        fields: [game, scene, start_ts, end_ts, avg_bitrate]
    - index_asset: {}
    - make_proxies_if:
        min_duration_sec: 900
        codec: "dnxhr_lb"
  pause_if_recording: true
  pause_if_gpu_pct_above: 40
"""


async def test_original_rule_simulates_to_the_expected_plan(hub: Hub) -> None:
    register_fake_services(hub, duration=1800)
    manager = await setup_automations(hub, ORIGINAL_RULE)
    assert list(manager.entities) == ["remux_mkv_to_mov_and_move"]
    entity = manager.get("remux_mkv_to_mov_and_move")
    assert entity.config.rule_format and entity.config.mode == "queued"
    src = "/mnt/drive_a/Recordings/2025-01-02 20-00-00.mkv"
    result = await async_simulate(hub, "remux_mkv_to_mov_and_move", file=src)
    assert result["ok"], result["trace"]
    plan = result["plan"]
    assert [p["action"] for p in plan] == [
        "media.remux",
        "files.move",
        "files.write_sidecar",
        "assets.index",
        "media.proxy",
    ]
    guard = {"pause_if_recording": True, "pause_if_gpu_pct_above": 40}
    assert plan[0]["data"] == {"input": src, "format": "mov", "guardrails": guard}
    assert "+faststart" in plan[0]["result"]["command"]
    moved_from = src[:-4] + ".mov"
    assert plan[1]["data"]["source"] == moved_from
    dest = plan[1]["data"]["destination"]
    assert dest.startswith("/mnt/drive_f/Editing/Unknown/") and "{" not in dest  # placeholders filled
    final = plan[1]["result"]["output"]
    assert final == dest + "2025-01-02 20-00-00.mov"
    assert plan[2]["data"] == {"path": final}
    assert plan[3]["data"] == {"path": final}
    assert plan[4]["data"] == {"input": final, "codec": "dnxhr_lb", "guardrails": guard}


async def test_original_rule_skips_proxy_for_short_recordings(hub: Hub) -> None:
    register_fake_services(hub, duration=300)
    await setup_automations(hub, ORIGINAL_RULE)
    result = await async_simulate(hub, "remux_mkv_to_mov_and_move", file="/mnt/drive_a/Recordings/a.mkv")
    assert [p["action"] for p in result["plan"]][-1] == "assets.index"


async def test_original_rule_runs_for_real_and_fails_clearly_without_services(hub: Hub) -> None:
    manager = await setup_automations(hub, ORIGINAL_RULE)
    hub.bus.async_fire(
        "file_closed",
        {"path": "/mnt/drive_a/Recordings/x.mkv", "size": 1, "mtime": 0, "drive": "a", "quiet_seconds": 60},
    )
    await hub.async_block_till_done()
    trace = (await manager.traces.get("remux_mkv_to_mov_and_move"))[0]
    assert trace["state"] == "failed"
    assert "service media.remux not available" in trace["error"]


def test_rule_format_errors_name_file_and_line(tmp_path: Path) -> None:
    errors = errors_for(
        tmp_path,
        """\
- name: Broken rule
  when:
    any:
      - event: file_closed
        path_glb: "*.mkv"
  do:
    - ffmpeg_remix: {}
""",
    )
    assert any(e.startswith("automations.yaml:5: unknown 'when' key 'path_glb'") for e in errors), errors
    assert any(
        e.startswith("automations.yaml:7: unknown rule action 'ffmpeg_remix' (did you mean \"ffmpeg_remux\"?)")
        for e in errors
    ), errors


# -- the default pack ----------------------------------------------------------------------------------
def test_default_pack_loads_and_validates() -> None:
    result = load_default_pack()
    assert not result.errors, [str(e) for e in result.errors]
    assert "post_recording" in [a.id for a in result.automations]
    post = next(a for a in result.automations if a.id == "post_recording")
    assert post.blueprint == "blueprints/post_recording.yaml" and post.origin == "default"
    assert post.file == "automations/post_recording.yaml"


async def test_default_pack_simulates_the_post_recording_plan(hub: Hub) -> None:
    register_fake_services(hub, duration=1200)
    await setup_automations(hub, "", pack=True)
    hub.states.async_set("sensor.drive_editing_free", "512", {"path": "/mnt/drive_f", "drive": "editing"})
    src = "/mnt/drive_a/Recordings/run.mkv"
    result = await async_simulate(hub, "post_recording", file=src)
    assert result["ok"], result["trace"]
    actions = [p["action"] for p in result["plan"]]
    assert actions == [
        "media.remux",
        "files.move",
        "files.write_sidecar",
        "assets.index",
        "media.proxy",
        "media.thumbnail",
        "media.sprite",
        "media.hover",
        "media.waveform",
    ]
    remux, move = result["plan"][0], result["plan"][1]
    assert remux["data"] == {"input": src, "format": "mov"}
    assert move["data"]["source"] == "/mnt/drive_a/Recordings/run.mov"
    assert move["data"]["destination"].startswith("/mnt/drive_f/Editing/Unknown/")
    final = move["result"]["output"]
    assert all(p["data"].get("input", p["data"].get("path")) == final for p in result["plan"][2:])


async def test_default_pack_does_nothing_without_an_editing_drive(hub: Hub) -> None:
    register_fake_services(hub)
    await setup_automations(hub, "", pack=True)
    result = await async_simulate(hub, "post_recording", file="/mnt/a/x.mkv")
    assert result["state"] == "conditions_not_met" and result["plan"] == []
    assert result["trace"]["conditions"][0]["result"] is False


async def test_user_automation_overrides_a_default_one(hub: Hub) -> None:
    register_fake_services(hub)
    manager = await setup_automations(
        hub,
        """
- id: post_recording
  use_blueprint:
    path: post_recording.yaml
    input: {editing_drive: ssd, previews: false}
""",
        pack=True,
    )
    entity = manager.get("post_recording")
    assert entity.config.origin == "user" and entity.config.variables["editing_drive"] == "ssd"
