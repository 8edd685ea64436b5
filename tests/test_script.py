"""The script engine through a real hub: every action type, conditions, modes, errors and traces."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from helpers_automation import register_fake_services, setup_automations

from streamops.automation.manager import AutomationManager
from streamops.core import Hub, ServiceNotFound


async def run_once(hub: Hub, manager: AutomationManager, automation_id: str, **data: Any) -> dict[str, Any]:
    hub.bus.async_fire("go", data)
    await hub.async_block_till_done()
    traces = await manager.traces.get(automation_id)
    assert traces, "no trace recorded"
    return traces[0]


def auto(actions: str, *, extra: str = "", conditions: str = "") -> str:
    body = "\n".join("    " + line for line in actions.strip().splitlines())
    cond = (
        ("  conditions:\n" + "\n".join("    " + line for line in conditions.strip().splitlines())) if conditions else ""
    )
    return f"""
- id: t
{extra}
  triggers: [{{trigger: event, event_type: go}}]
{cond}
  actions:
{body}
"""


async def test_service_call_data_target_response_variable(hub: Hub) -> None:
    calls = register_fake_services(hub)
    manager = await setup_automations(
        hub,
        auto("""
- action: test.echo
  target: {entity_id: sensor.x}
  data: {n: "{{ trigger.event.data.n * 2 }}"}
  response_variable: answer
- action: test.record
  data: {got: "{{ answer.echo.n }}", target: "{{ answer.echo.entity_id }}", prev: "{{ previous.echo.n }}"}
"""),
    )
    trace = await run_once(hub, manager, "t", n=21)
    assert trace["state"] == "finished"
    assert calls.items[1].data == {"got": 42, "target": "sensor.x", "prev": 42}
    step = trace["steps"][0]
    assert step["path"] == "action/0" and step["input"]["data"] == {"entity_id": "sensor.x", "n": 42}
    assert step["result"] == {"echo": {"entity_id": "sensor.x", "n": 42}}


async def test_missing_service_fails_the_run_with_a_clear_error(hub: Hub) -> None:
    register_fake_services(hub)
    manager = await setup_automations(hub, auto("- action: media.nope\n- action: test.record"))
    trace = await run_once(hub, manager, "t")
    assert trace["state"] == "failed"
    assert "service media.nope not available" in trace["error"]
    assert "action/0" in trace["error"]
    assert len(trace["steps"]) == 1


async def test_continue_on_error_and_failure_does_not_stop_other_automations(hub: Hub) -> None:
    calls = register_fake_services(hub, fail={"media.remux"})
    manager = await setup_automations(
        hub,
        """
- id: failing
  triggers: [{trigger: event, event_type: go}]
  actions:
    - action: media.remux
      data: {input: /x.mkv}
    - action: test.record
      data: {never: true}
- id: tolerant
  triggers: [{trigger: event, event_type: go}]
  actions:
    - action: media.remux
      data: {input: /y.mkv}
      continue_on_error: true
    - action: test.record
      data: {after: true}
""",
    )
    hub.bus.async_fire("go")
    await hub.async_block_till_done()
    failing = (await manager.traces.get("failing"))[0]
    tolerant = (await manager.traces.get("tolerant"))[0]
    assert failing["state"] == "failed" and "failed on purpose" in failing["error"]
    assert tolerant["state"] == "finished"
    assert tolerant["steps"][0]["error"] == "media.remux failed on purpose"
    assert [dict(c.data) for c in calls.items if c.service == "record"] == [{"after": True}]


async def test_delay_wait_template_and_event(hub: Hub) -> None:
    calls = register_fake_services(hub)
    manager = await setup_automations(
        hub,
        auto("""
- delay: 0.05
- wait_template: "{{ is_state('binary_sensor.ready', 'on') }}"
  timeout: 2
- event: step_done
  event_data: {completed: "{{ wait.completed }}"}
- wait_template: "{{ is_state('binary_sensor.never', 'on') }}"
  timeout: 0.05
- action: test.record
  data: {second: "{{ wait.completed }}"}
"""),
    )
    seen: list[dict[str, Any]] = []
    hub.bus.async_listen("step_done", lambda e: seen.append(dict(e.data)))
    hub.bus.async_fire("go")
    await asyncio.sleep(0.1)
    assert not calls.items
    hub.states.async_set("binary_sensor.ready", "on")
    await calls.wait_for(1)
    await hub.async_block_till_done()
    assert seen == [{"completed": True}]
    assert calls.items[0].data == {"second": False}
    trace = (await manager.traces.get("t"))[0]
    assert trace["steps"][0]["input"] == {"delay": 0.05} and trace["steps"][0]["duration"] >= 0.04


async def test_wait_for_trigger_with_timeout(hub: Hub) -> None:
    calls = register_fake_services(hub)
    await setup_automations(
        hub,
        auto("""
- wait_for_trigger:
    - trigger: state
      entity_id: sensor.obs_scene
      to: Outro
  timeout: 5
- action: test.record
  data: {scene: "{{ wait.trigger.to_state.state }}", done: "{{ wait.completed }}"}
- wait_for_trigger: [{trigger: event, event_type: never}]
  timeout: 0.05
  continue_on_timeout: false
- action: test.record
  data: {unreachable: true}
"""),
    )
    hub.bus.async_fire("go")
    await asyncio.sleep(0.05)
    hub.states.async_set("sensor.obs_scene", "Outro")
    await hub.async_block_till_done()
    assert [dict(c.data) for c in calls.items] == [{"scene": "Outro", "done": True}]


async def test_choose_if_then_else(hub: Hub) -> None:
    calls = register_fake_services(hub)
    manager = await setup_automations(
        hub,
        auto(
            """
- choose:
    - conditions: "{{ trigger.event.data.n > 10 }}"
      sequence: [{action: test.record, data: {branch: big}}]
    - conditions: [{condition: template, value_template: "{{ trigger.event.data.n > 5 }}"}]
      sequence: [{action: test.record, data: {branch: medium}}]
  default: [{action: test.record, data: {branch: small}}]
- if: [{condition: state, entity_id: binary_sensor.obs_recording, state: "on"}]
  then: [{action: test.record, data: {rec: "y"}}]
  else: [{action: test.record, data: {rec: "n"}}]
""",
            extra="  mode: queued",
        ),
    )
    hub.states.async_set("binary_sensor.obs_recording", "on")
    for n in (20, 7, 1):
        await run_once(hub, manager, "t", n=n)
    assert [c.data.get("branch", c.data.get("rec")) for c in calls.items] == ["big", "y", "medium", "y", "small", "y"]
    hub.states.async_set("binary_sensor.obs_recording", "off")
    trace = await run_once(hub, manager, "t", n=1)
    assert calls.items[-1].data == {"rec": "n"}
    assert trace["steps"][2]["result"]["if"] is False
    assert "binary_sensor.obs_recording is 'off'" in trace["steps"][2]["result"]["why"][0]


async def test_repeat_count_while_until_for_each(hub: Hub) -> None:
    calls = register_fake_services(hub)
    manager = await setup_automations(
        hub,
        auto("""
- repeat:
    count: 3
    sequence: [{action: test.record, data: {kind: count, i: "{{ repeat.index }}", last: "{{ repeat.last }}"}}]
- variables: {n: 0}
- repeat:
    while: "{{ n < 2 }}"
    sequence:
      - variables: {n: "{{ n + 1 }}"}
      - action: test.record
        data: {kind: while, n: "{{ n }}"}
- repeat:
    until: "{{ repeat.index >= 2 }}"
    sequence: [{action: test.record, data: {kind: until, i: "{{ repeat.index }}"}}]
- repeat:
    for_each: ["a.mkv", "b.mkv"]
    sequence: [{action: test.record, data: {kind: each, item: "{{ repeat.item }}", first: "{{ repeat.first }}"}}]
"""),
    )
    trace = await run_once(hub, manager, "t")
    assert trace["state"] == "finished"
    got = [dict(c.data) for c in calls.items]
    assert got == [
        {"kind": "count", "i": 1, "last": False},
        {"kind": "count", "i": 2, "last": False},
        {"kind": "count", "i": 3, "last": True},
        {"kind": "while", "n": 1},
        {"kind": "while", "n": 2},
        {"kind": "until", "i": 1},
        {"kind": "until", "i": 2},
        {"kind": "each", "item": "a.mkv", "first": True},
        {"kind": "each", "item": "b.mkv", "first": False},
    ]


async def test_parallel_sequence_variables_and_stop_with_response(hub: Hub) -> None:
    calls = register_fake_services(hub)
    manager = await setup_automations(
        hub,
        auto("""
- variables: {a: 1, b: "{{ a + 1 }}"}
- parallel:
    - sequence:
        - delay: 0.05
        - action: test.record
          data: {branch: slow}
    - action: test.record
      data: {branch: fast, b: "{{ b }}"}
- sequence:
    - action: test.echo
      data: {x: 5}
      response_variable: result
- stop: all done
  response_variable: result
- action: test.record
  data: {unreachable: true}
"""),
    )
    trace = await run_once(hub, manager, "t")
    assert [c.data.get("branch") for c in calls.items if c.service == "record"] == ["fast", "slow"]
    assert calls.items[0].data == {"branch": "fast", "b": 2}
    assert trace["state"] == "finished" and trace["stop_reason"] == "all done"
    assert trace["response"] == {"echo": {"x": 5}}


async def test_stop_with_error_marks_the_run_failed(hub: Hub) -> None:
    register_fake_services(hub)
    manager = await setup_automations(hub, auto('- stop: "disk full"\n  error: true'))
    trace = await run_once(hub, manager, "t")
    assert trace["state"] == "failed" and trace["error"] == "disk full"


async def test_condition_step_stops_quietly(hub: Hub) -> None:
    calls = register_fake_services(hub)
    manager = await setup_automations(
        hub,
        auto("""
- condition: numeric_state
  entity_id: sensor.cpu_percent
  below: 50
- action: test.record
"""),
    )
    hub.states.async_set("sensor.cpu_percent", "90")
    trace = await run_once(hub, manager, "t")
    assert trace["state"] == "finished" and not calls.items
    assert "did not hold" in trace["stop_reason"] and "90.0 is not below 50.0" in trace["stop_reason"]


async def test_conditions_all_types(hub: Hub) -> None:
    calls = register_fake_services(hub)
    manager = await setup_automations(
        hub,
        auto(
            "- action: test.record",
            conditions="""
- condition: state
  entity_id: binary_sensor.obs_recording
  state: "off"
- condition: numeric_state
  entity_id: sensor.gpu_percent
  above: 5
  below: 50
- "{{ trigger.event.data.ok }}"
- condition: time
  after: "00:00"
  before: "23:59:59"
  weekday: [mon, tue, wed, thu, fri, sat, sun]
- or:
    - condition: template
      value_template: "{{ false }}"
    - condition: state
      entity_id: sensor.obs_scene
      state: [Gameplay, Intro]
- condition: and
  conditions:
    - not:
        - condition: state
          entity_id: sensor.obs_scene
          state: Outro
- condition: trigger
  id: "0"
""",
        ),
    )
    hub.states.async_set("binary_sensor.obs_recording", "off")
    hub.states.async_set("sensor.gpu_percent", "20")
    hub.states.async_set("sensor.obs_scene", "Intro")
    trace = await run_once(hub, manager, "t", ok=True)
    assert trace["state"] == "finished" and len(calls.items) == 1
    assert [c["result"] for c in trace["conditions"]] == [True] * 7
    hub.states.async_set("sensor.gpu_percent", "60")
    trace = await run_once(hub, manager, "t", ok=True)
    assert trace["state"] == "conditions_not_met"
    assert trace["conditions"][-1] == {**trace["conditions"][-1], "path": "condition/1", "result": False}
    assert "60.0 is not below 50.0" in trace["stop_reason"]
    hub.states.async_set("sensor.gpu_percent", "20")
    hub.states.async_set("sensor.obs_scene", "Outro")
    trace = await run_once(hub, manager, "t", ok=True)
    assert trace["state"] == "conditions_not_met" and trace["conditions"][-1]["path"] == "condition/4"
    assert len(calls.items) == 1


async def test_state_condition_for(hub: Hub) -> None:
    register_fake_services(hub)
    manager = await setup_automations(
        hub,
        auto(
            "- action: test.record",
            conditions="- {condition: state, entity_id: sensor.obs_scene, state: Gameplay, for: 3600}",
        ),
    )
    hub.states.async_set("sensor.obs_scene", "Gameplay")
    trace = await run_once(hub, manager, "t")
    assert trace["state"] == "conditions_not_met" and "wanted 3600 s" in trace["stop_reason"]


@pytest.mark.parametrize("mode", ["single", "restart", "queued", "parallel"])
async def test_modes(hub: Hub, mode: str) -> None:
    calls = register_fake_services(hub)
    manager = await setup_automations(
        hub,
        f"""
- id: m
  mode: {mode}
  max: 2
  max_exceeded: silent
  triggers: [{{trigger: event, event_type: go}}]
  actions:
    - action: test.record
      data: {{n: "{{{{ trigger.event.data.n }}}}", phase: start}}
    - wait_template: "{{{{ is_state('input_boolean.release', 'on') }}}}"
    - action: test.record
      data: {{n: "{{{{ trigger.event.data.n }}}}", phase: end}}
""",
    )
    for n in range(3):
        hub.bus.async_fire("go", {"n": n})
        await asyncio.sleep(0.02)
    entity = manager.get("m")
    assert entity is not None
    expected_running = {"single": 1, "restart": 1, "queued": 2, "parallel": 2}[mode]
    assert entity.script.runs == expected_running
    assert hub.states.get("automation.m").attributes["current"] == expected_running
    hub.states.async_set("input_boolean.release", "on")
    await hub.async_block_till_done()
    started = [c.data["n"] for c in calls.items if c.data["phase"] == "start"]
    ended = [c.data["n"] for c in calls.items if c.data["phase"] == "end"]
    states = sorted(t["state"] for t in await manager.traces.get("m"))
    if mode == "single":
        assert started == [0] and ended == [0] and states == ["finished", "skipped", "skipped"]
    elif mode == "restart":
        assert started == [0, 1, 2] and ended == [2] and states == ["cancelled", "cancelled", "finished"]
    elif mode == "queued":  # max 2 = running + waiting: the third is refused
        assert started == [0, 1] and ended == [0, 1] and states == ["finished", "finished", "skipped"]
    else:
        assert sorted(started) == [0, 1] and sorted(ended) == [0, 1] and states == ["finished", "finished", "skipped"]
    assert hub.states.get("automation.m").attributes["current"] == 0


async def test_automation_services_and_entity(hub: Hub) -> None:
    calls = register_fake_services(hub)
    manager = await setup_automations(
        hub,
        auto(
            "- action: test.record\n  data: {v: '{{ v | default(0) }}'}",
            conditions='- "{{ false }}"',
        ),
    )
    state = hub.states.get("automation.t")
    assert state.state == "on" and state.attributes["last_triggered"] is None
    await hub.services.async_call("automation", "trigger", {"entity_id": "automation.t", "variables": {"v": 3}})
    await hub.async_block_till_done()
    assert calls.items[0].data == {"v": 3}
    assert hub.states.get("automation.t").attributes["last_triggered"] is not None
    await hub.services.async_call("automation", "turn_off", {"entity_id": "automation.t"})
    assert hub.states.get("automation.t").state == "off"
    hub.bus.async_fire("go")
    await hub.async_block_till_done()
    assert len(await manager.traces.get("t")) == 1  # off: the event was not even evaluated
    await hub.services.async_call("automation", "toggle", {"entity_id": "automation.t"})
    assert hub.states.get("automation.t").state == "on"
    with pytest.raises(ServiceNotFound):
        await hub.services.async_call("automation", "nothing")


async def test_automation_triggered_event_and_this(hub: Hub) -> None:
    calls = register_fake_services(hub)
    manager = await setup_automations(hub, auto("- action: test.record\n  data: {me: '{{ this.entity_id }}'}"))
    fired: list[dict[str, Any]] = []
    hub.bus.async_listen("automation_triggered", lambda e: fired.append(dict(e.data)))
    await run_once(hub, manager, "t")
    assert fired == [{"name": "t", "entity_id": "automation.t", "source": "event 'go'"}]
    assert calls.items[0].data == {"me": "automation.t"}


async def test_traces_keep_the_last_n(hub: Hub) -> None:
    register_fake_services(hub)
    manager = await setup_automations(hub, auto("- action: test.record", extra="  trace: {stored_traces: 2}"))
    for _ in range(4):
        await run_once(hub, manager, "t")
    assert len(await manager.traces.get("t")) == 2


async def test_traces_persisted_through_the_recorder_when_available(db_hub: Hub) -> None:
    from streamops.recorder import RECORDER

    recorder = db_hub.data[RECORDER]
    if not hasattr(recorder, "save_trace"):
        pytest.skip("this recorder has no save_trace yet")
    register_fake_services(db_hub)
    manager = await setup_automations(db_hub, auto("- action: test.record"))
    await run_once(db_hub, manager, "t")
    await db_hub.async_block_till_done()
    stored = await recorder.get_traces("t", 10)
    assert len(stored) == 1
    manager.traces.forget("t")  # as after a restart: served from SQLite
    traces = await manager.traces.get("t")
    assert traces and traces[0]["state"] == "finished" and traces[0]["steps"][0]["path"] == "action/0"
