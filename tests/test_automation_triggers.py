"""Every trigger type through a real hub: event, state, numeric_state, time, time_pattern, template,
streamops start/shutdown, file_closed (the drives platform), trigger ids and the `trigger` variable."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from helpers_automation import register_fake_services, setup_automations

from streamops.automation.triggers import glob_to_regex, next_pattern_time, pattern_sets
from streamops.core import Hub


async def test_event_trigger_with_event_data_and_trigger_variable(hub: Hub) -> None:
    calls = register_fake_services(hub)
    await setup_automations(
        hub,
        """
- id: on_marker
  triggers:
    - trigger: event
      event_type: obs_marker
      event_data: {kind: highlight}
      id: marker
  actions:
    - action: test.record
      data:
        id: "{{ trigger.id }}"
        platform: "{{ trigger.platform }}"
        label: "{{ trigger.event.data.label }}"
""",
    )
    hub.bus.async_fire("obs_marker", {"kind": "other", "label": "no"})
    hub.bus.async_fire("obs_marker", {"kind": "highlight", "label": "yes"})
    await hub.async_block_till_done()
    assert [dict(c.data) for c in calls.items] == [{"id": "marker", "platform": "event", "label": "yes"}]


async def test_state_trigger_from_to_and_attribute_changes(hub: Hub) -> None:
    calls = register_fake_services(hub)
    hub.states.async_set("binary_sensor.obs_recording", "off")
    await setup_automations(
        hub,
        """
- id: stopped
  trigger:
    platform: state
    entity_id: binary_sensor.obs_recording
    from: "on"
    to: "off"
  action:
    - service: test.record
      data: {to: "{{ trigger.to_state.state }}", from: "{{ trigger.from_state.state }}"}
""",
    )
    hub.states.async_set("binary_sensor.obs_recording", "on")
    hub.states.async_set("binary_sensor.obs_recording", "on", {"x": 1})  # attribute only: no
    hub.states.async_set("binary_sensor.obs_recording", "off")
    await hub.async_block_till_done()
    assert [dict(c.data) for c in calls.items] == [{"to": "off", "from": "on"}]


async def test_state_trigger_for_fires_after_hold_and_cancels_on_change(hub: Hub) -> None:
    calls = register_fake_services(hub)
    hub.states.async_set("sensor.obs_scene", "Intro")
    await setup_automations(
        hub,
        """
- id: held
  triggers:
    - trigger: state
      entity_id: sensor.obs_scene
      to: Gameplay
      for: {seconds: 0.2}
  actions:
    - action: test.record
      data: {for: "{{ trigger.for }}"}
""",
    )
    hub.states.async_set("sensor.obs_scene", "Gameplay")
    await asyncio.sleep(0.05)
    hub.states.async_set("sensor.obs_scene", "Intro")  # left before 0.2 s: cancelled
    hub.states.async_set("sensor.obs_scene", "Gameplay")
    started = asyncio.get_running_loop().time()
    await calls.wait_for(1)
    assert asyncio.get_running_loop().time() - started >= 0.19
    await asyncio.sleep(0.3)
    assert len(calls.items) == 1
    assert calls.items[0].data["for"] == 0.2


async def test_numeric_state_trigger_fires_on_crossing_only(hub: Hub) -> None:
    calls = register_fake_services(hub)
    hub.states.async_set("sensor.gpu_percent", "10")
    await setup_automations(
        hub,
        """
- id: gpu_hot
  mode: parallel
  triggers:
    - trigger: numeric_state
      entity_id: sensor.gpu_percent
      above: 80
      below: 101
  actions:
    - action: test.record
      data: {value: "{{ trigger.to_state.state }}"}
- id: gpu_attr
  triggers:
    - trigger: numeric_state
      entity_id: sensor.gpu_percent
      attribute: temp
      above: sensor.gpu_limit
  actions:
    - action: test.record
      data: {temp: "{{ trigger.to_state.attributes.temp }}"}
""",
    )
    hub.states.async_set("sensor.gpu_limit", "70")
    for value in ("50", "85", "90", "40", "95"):
        hub.states.async_set("sensor.gpu_percent", value)
    hub.states.async_set("sensor.gpu_percent", "95", {"temp": 75})
    await hub.async_block_till_done()
    assert [dict(c.data) for c in calls.items] == [{"value": 85}, {"value": 95}, {"temp": 75}]


async def test_time_trigger_fires_at_the_time(hub: Hub) -> None:
    calls = register_fake_services(hub)
    at = datetime.now() + timedelta(seconds=1.2)
    await setup_automations(
        hub,
        f"""
- id: at_time
  triggers:
    - trigger: time
      at: "{at.strftime("%H:%M:%S")}"
  actions:
    - action: test.record
      data: {{platform: "{{{{ trigger.platform }}}}"}}
""",
    )
    await calls.wait_for(1, timeout=4)
    assert calls.items[0].data == {"platform": "time"}


async def test_time_trigger_from_entity(hub: Hub) -> None:
    calls = register_fake_services(hub)
    await setup_automations(
        hub,
        """
- id: at_entity
  triggers:
    - trigger: time
      at: input_datetime.go_live
  actions:
    - action: test.record
""",
    )
    hub.states.async_set("input_datetime.go_live", (datetime.now() + timedelta(seconds=0.5)).isoformat())
    await calls.wait_for(1, timeout=4)


def test_time_pattern_defaults_and_next_match() -> None:
    hours, minutes, seconds = pattern_sets({"minutes": "/15"})
    assert hours == list(range(24)) and minutes == [0, 15, 30, 45] and seconds == [0]
    assert pattern_sets({"hours": 3}) == ([3], [0], [0])
    start = datetime(2025, 1, 1, 23, 50, 10)
    assert next_pattern_time(start, hours, minutes, seconds) == datetime(2025, 1, 2, 0, 0, 0)
    assert next_pattern_time(datetime(2025, 1, 1, 10, 14, 59), hours, minutes, seconds) == datetime(2025, 1, 1, 10, 15)


async def test_time_pattern_trigger_every_second(hub: Hub) -> None:
    calls = register_fake_services(hub)
    await setup_automations(
        hub,
        """
- id: tick
  mode: parallel
  triggers:
    - trigger: time_pattern
      seconds: "/1"
  actions:
    - action: test.record
""",
    )
    await calls.wait_for(2, timeout=4)


async def test_template_trigger_false_to_true_with_tracked_entities(hub: Hub) -> None:
    calls = register_fake_services(hub)
    hub.states.async_set("sensor.cpu_percent", "10")
    await setup_automations(
        hub,
        """
- id: cpu_busy
  mode: parallel
  triggers:
    - trigger: template
      value_template: "{{ states('sensor.cpu_percent') | float > 70 }}"
  actions:
    - action: test.record
      data: {entity: "{{ trigger.entity_id }}"}
""",
    )
    for value in ("50", "75", "80", "20", "90"):
        hub.states.async_set("sensor.cpu_percent", value)
        await hub.async_block_till_done()  # templates read the current state: one change at a time
    hub.states.async_set("sensor.other", "1")
    await hub.async_block_till_done()
    assert [dict(c.data) for c in calls.items] == [{"entity": "sensor.cpu_percent"}] * 2


async def test_streamops_start_and_shutdown_triggers(hub: Hub) -> None:
    calls = register_fake_services(hub)
    await setup_automations(
        hub,
        """
- id: hello
  triggers: [{trigger: streamops, event: start}]
  actions: [{action: test.record, data: {what: start}}]
- id: bye
  triggers: [{trigger: homeassistant, event: shutdown}]
  actions: [{action: test.record, data: {what: stop}}]
""",
    )
    await calls.wait_for(1)
    assert calls.items[0].data == {"what": "start"}
    await hub.async_stop()
    assert [c.data["what"] for c in calls.items] == ["start", "stop"]


async def test_file_closed_trigger_from_drives_platform(hub: Hub, tmp_path: Path) -> None:
    """`trigger: file_closed` is the drives integration's platform (found via its manifest)."""
    calls = register_fake_services(hub)
    await setup_automations(
        hub,
        """
- id: on_file
  triggers:
    - trigger: file_closed
      path_glob: "**/*.mkv"
  actions:
    - action: test.record
      data: {path: "{{ trigger.path }}", drive: "{{ trigger.drive }}"}
""",
    )
    video = tmp_path / "rec" / "a.mkv"
    base = {"size": 1, "mtime": 0.0, "drive": "recordings", "quiet_seconds": 5}
    hub.bus.async_fire("file_closed", {**base, "path": str(tmp_path / "rec" / "a.txt")})
    hub.bus.async_fire("file_closed", {**base, "path": str(video)})
    await hub.async_block_till_done()
    assert [dict(c.data) for c in calls.items] == [{"path": str(video), "drive": "recordings"}]


async def test_trigger_ids_idx_and_trigger_condition(hub: Hub) -> None:
    calls = register_fake_services(hub)
    await setup_automations(
        hub,
        """
- id: two_triggers
  mode: parallel
  triggers:
    - {trigger: event, event_type: a, id: first}
    - {trigger: event, event_type: b}
  conditions:
    - condition: trigger
      id: ["first", "1"]
  actions:
    - action: test.record
      data: {id: "{{ trigger.id }}", idx: "{{ trigger.idx }}"}
""",
    )
    hub.bus.async_fire("a")
    hub.bus.async_fire("b")
    await hub.async_block_till_done()
    assert sorted((str(c.data["id"]), str(c.data["idx"])) for c in calls.items) == [("1", "1"), ("first", "0")]


async def test_disabled_trigger_and_trigger_variables(hub: Hub) -> None:
    calls = register_fake_services(hub)
    await setup_automations(
        hub,
        """
- id: trig_vars
  triggers:
    - {trigger: event, event_type: off_one, enabled: false}
    - trigger: event
      event_type: on_one
      variables: {label: "from {{ trigger.event.event_type }}"}
  actions:
    - action: test.record
      data: {label: "{{ label }}"}
""",
    )
    hub.bus.async_fire("off_one")
    hub.bus.async_fire("on_one")
    await hub.async_block_till_done()
    assert [dict(c.data) for c in calls.items] == [{"label": "from on_one"}]


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/mnt/a/Recordings/**/*.mkv", "/mnt/a/Recordings/x.mkv", True),
        ("/mnt/a/Recordings/**/*.mkv", "/mnt/a/Recordings/2025/x.MKV", True),
        ("/mnt/a/Recordings/*.mkv", "/mnt/a/Recordings/2025/x.mkv", False),
        ("D:\\OBS\\*.mkv", "D:/OBS/a.mkv", True),
    ],
)
def test_glob_semantics(pattern: str, path: str, matches: bool) -> None:
    assert bool(glob_to_regex(pattern).match(path)) is matches
