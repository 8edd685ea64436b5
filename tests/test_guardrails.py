"""Guardrails really pause heavy work (SIGSTOP of a real ffmpeg / CPU loop) and release it by themselves."""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any

import psutil
import pytest

from streamops.core import Hub, State
from streamops.jobs import JobContext, JobType
from tests.helpers_jobs import (
    EventLog,
    fast_config,
    gone,
    process_job_type,
    process_status,
    setup_jobs,
    wait_for,
    wait_job,
)

RECORDING = "binary_sensor.obs_recording"
FFMPEG_ENDLESS = [
    "ffmpeg",
    "-hide_banner",
    "-nostdin",
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=1280x720:rate=60",
    "-t",
    "3600",
    "-f",
    "null",
    "-",
]


def stopped(pid: int) -> bool:
    return process_status(pid) == psutil.STATUS_STOPPED


def working(pid: int) -> bool:
    return process_status(pid) in (psutil.STATUS_RUNNING, psutil.STATUS_SLEEPING, psutil.STATUS_DISK_SLEEP)


async def _noop(ctx: JobContext) -> dict[str, Any]:
    return {}


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
async def test_recording_pauses_a_running_ffmpeg_within_a_second_and_resumes_it(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    pids: list[int] = []
    queue.register_type(process_job_type("media.proxy", argv=FFMPEG_ENDLESS, pids=pids, heavy=True))
    log = EventLog(db_hub, "job_paused", "job_resumed")
    job_id = await queue.submit("media.proxy", {})
    await wait_for(lambda: pids and working(pids[0]), what="ffmpeg working")
    pid = pids[0]
    frames_before = psutil.Process(pid).cpu_times().user

    db_hub.states.async_set(RECORDING, "on")
    took = await wait_for(lambda: stopped(pid), timeout=1.0, what="ffmpeg stopped (state T)")
    assert took < 1.0
    job = await wait_job(queue, job_id, lambda j: j["status"] == "paused", what="journal paused")
    assert job["blocked_reason"] == "guardrail: OBS is recording" and not job["user_paused"]
    guard = db_hub.states.get("binary_sensor.guardrail_recording")
    assert guard is not None and guard.state == "on" and "is on" in guard.attributes["reason"]
    assert db_hub.states.get("switch.guardrails").attributes["reasons"] == ["OBS is recording"]
    cpu_paused = psutil.Process(pid).cpu_times().user
    await asyncio.sleep(0.3)
    assert psutil.Process(pid).cpu_times().user - cpu_paused < 0.05  # no work while stopped
    assert psutil.Process(pid).cpu_times().user >= frames_before

    db_hub.states.async_set(RECORDING, "off")
    await wait_for(lambda: working(pid), timeout=1.0, what="ffmpeg running again")
    job = await wait_job(queue, job_id, lambda j: j["status"] == "running", what="journal running")
    assert job["blocked_reason"] is None
    assert db_hub.states.get("binary_sensor.guardrail_recording").state == "off"
    await queue.cancel(job_id)
    assert gone(pid)
    await db_hub.async_block_till_done()
    assert len(log.of("job_paused", job_id)) == 1 and len(log.of("job_resumed", job_id)) == 1


async def test_light_jobs_keep_running_while_recording(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    pids: list[int] = []
    queue.register_type(process_job_type("media.remux", pids=pids, heavy=False, resource="io"))
    db_hub.states.async_set(RECORDING, "on")
    job_id = await queue.submit("media.remux", {"seconds": 0.3})
    job = await queue.wait(job_id, timeout=5)
    assert job["status"] == "done" and job["result"]["paused_seconds"] == 0


async def test_queued_heavy_job_waits_for_the_recording_to_stop(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    queue.register_type(JobType("media.thumbnail", _noop, heavy=True))
    db_hub.states.async_set(RECORDING, "on")
    job_id = await queue.submit("media.thumbnail", {})
    job = await wait_job(queue, job_id, lambda j: j["blocked_reason"], what="held")
    assert job["status"] == "queued" and job["blocked_reason"] == "guardrail: OBS is recording"
    assert job["next_run_at"] is None  # until the recording stops: no time to promise
    await asyncio.sleep(0.3)
    assert (await queue.get(job_id))["status"] == "queued"
    db_hub.states.async_set(RECORDING, "off")
    assert (await queue.wait(job_id, timeout=2))["status"] == "done"


async def test_unavailable_or_missing_obs_counts_as_not_recording(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    queue.register_type(JobType("media.thumbnail", _noop))
    guard = db_hub.states.get("binary_sensor.guardrail_recording")
    assert guard.state == "off" and "does not exist" in guard.attributes["reason"]
    db_hub.states.async_set(RECORDING, "unavailable")
    await db_hub.async_block_till_done()
    assert (
        "unavailable: treated as not recording"
        in db_hub.states.get("binary_sensor.guardrail_recording").attributes["reason"]
    )
    assert (await queue.wait(await queue.submit("media.thumbnail", {}), timeout=2))["status"] == "done"


async def test_cpu_guard_sustain_and_hysteresis(db_hub: Hub) -> None:
    queue = await setup_jobs(
        db_hub, fast_config(guardrails={"cpu_percent": 70, "hysteresis": 10, "sustain_seconds": 0.4})
    )
    pids: list[int] = []
    queue.register_type(process_job_type("media.transcode", pids=pids, heavy=True))
    db_hub.states.async_set("sensor.cpu_percent", "20")
    job_id = await queue.submit("media.transcode", {})
    await wait_for(lambda: pids and working(pids[0]), what="working")
    pid = pids[0]
    guard = "binary_sensor.guardrail_cpu"

    # A short spike does not engage.
    db_hub.states.async_set("sensor.cpu_percent", "95")
    await asyncio.sleep(0.1)
    db_hub.states.async_set("sensor.cpu_percent", "50")
    await asyncio.sleep(0.5)
    assert db_hub.states.get(guard).state == "off" and working(pid)

    # Sustained high load engages after sustain_seconds, with no further sensor update needed.
    started = time.monotonic()
    db_hub.states.async_set("sensor.cpu_percent", "95")
    await wait_for(lambda: stopped(pid), timeout=1.5, what="stopped by CPU guard")
    assert time.monotonic() - started >= 0.35
    state = db_hub.states.get(guard)
    assert state.state == "on" and "95% stayed above 70% for 0.4 s; resumes below 60%" in state.attributes["reason"]

    # Between release level and threshold: still engaged (no flapping).
    db_hub.states.async_set("sensor.cpu_percent", "65")
    await asyncio.sleep(0.3)
    assert stopped(pid) and db_hub.states.get(guard).state == "on"

    # Below threshold - hysteresis: released, the job runs again by itself.
    db_hub.states.async_set("sensor.cpu_percent", "55")
    await wait_for(lambda: working(pid), timeout=1.0, what="resumed")
    assert db_hub.states.get(guard).state == "off"
    await queue.cancel(job_id)


async def test_gpu_guard_and_unavailable_gpu(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config(guardrails={"gpu_percent": 40}))
    pids: list[int] = []
    queue.register_type(process_job_type("media.proxy", pids=pids))
    db_hub.states.async_set("sensor.gpu_percent", "unavailable", {"reason": "NVMLError_LibraryNotFound"})
    job_id = await queue.submit("media.proxy", {})
    await wait_for(lambda: pids and working(pids[0]), what="working")
    await db_hub.async_block_till_done()
    assert "sensor unavailable" in db_hub.states.get("binary_sensor.guardrail_gpu").attributes["reason"]
    db_hub.states.async_set("sensor.gpu_percent", "85")
    await wait_for(lambda: stopped(pids[0]), timeout=1, what="stopped by GPU guard")
    job = await wait_job(queue, job_id, lambda j: j["status"] == "paused", what="paused")
    assert job["blocked_reason"].startswith("guardrail: GPU 85% stayed above 40%")
    db_hub.states.async_set("sensor.gpu_percent", "unavailable")  # the GPU went away: not a reason to hold
    await wait_for(lambda: working(pids[0]), timeout=1, what="resumed")
    await queue.cancel(job_id)


async def test_switch_guardrails_off_releases_and_on_pauses_again(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    pids: list[int] = []
    queue.register_type(process_job_type("media.proxy", pids=pids))
    job_id = await queue.submit("media.proxy", {})
    await wait_for(lambda: pids and working(pids[0]), what="working")
    pid = pids[0]
    db_hub.states.async_set(RECORDING, "on")
    await wait_for(lambda: stopped(pid), timeout=1, what="stopped")

    await db_hub.services.async_call("switch", "turn_off", {"entity_id": "switch.guardrails"})
    await wait_for(lambda: working(pid), timeout=1, what="released by the switch")
    assert db_hub.states.get("switch.guardrails").state == "off"
    assert (
        db_hub.states.get("binary_sensor.guardrail_recording")
        .attributes["reason"]
        .startswith("guardrails are switched off")
    )
    await db_hub.services.async_call("switch", "toggle", {"entity_id": "switch.guardrails"})
    await wait_for(lambda: stopped(pid), timeout=1, what="stopped again")
    assert db_hub.states.get("switch.guardrails").state == "on"
    with pytest.raises(Exception, match=r"unknown switch switch\.nope"):
        await db_hub.services.async_call("switch", "turn_on", {"entity_id": "switch.nope"})
    await queue.cancel(job_id)


async def test_user_pause_survives_a_guard_release(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    pids: list[int] = []
    queue.register_type(process_job_type("media.proxy", pids=pids))
    job_id = await queue.submit("media.proxy", {})
    await wait_for(lambda: pids and working(pids[0]), what="working")
    db_hub.states.async_set(RECORDING, "on")
    await wait_for(lambda: stopped(pids[0]), timeout=1, what="stopped")
    await queue.pause(job_id)
    db_hub.states.async_set(RECORDING, "off")
    await asyncio.sleep(0.3)
    assert stopped(pids[0])
    job = await queue.get(job_id)
    assert job["status"] == "paused" and job["blocked_reason"] == "paused by user"
    db_hub.states.async_set(RECORDING, "on")
    await queue.resume(job_id)  # the guard still holds it
    await asyncio.sleep(0.1)
    assert stopped(pids[0])
    assert (await queue.get(job_id))["blocked_reason"] == "guardrail: OBS is recording"
    db_hub.states.async_set(RECORDING, "off")
    await wait_for(lambda: working(pids[0]), timeout=1, what="running")
    await queue.cancel(job_id)


async def test_per_job_overrides_from_the_rule_format(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config())
    pids: dict[str, list[int]] = {"light": [], "heavy": [], "cpu50": []}
    queue.register_type(process_job_type("test.light", pids=pids["light"], heavy=False, resource="io"))
    queue.register_type(process_job_type("test.heavy", pids=pids["heavy"], heavy=True, resource="cpu"))
    queue.register_type(process_job_type("test.cpu50", pids=pids["cpu50"], heavy=True, resource="gpu"))
    db_hub.states.async_set("sensor.cpu_percent", "60")
    # A light job that asks to pause while recording; a heavy one that opts out; a stricter CPU limit.
    light = await queue.submit("test.light", {}, guardrails={"pause_if_recording": True})
    heavy = await queue.submit("test.heavy", {}, guardrails={"pause_if_recording": False})
    strict = await queue.submit("test.cpu50", {}, guardrails={"pause_if_cpu_pct_above": 50})
    await wait_for(lambda: pids["light"] and pids["heavy"], what="both working")
    job = await wait_job(queue, strict, lambda j: j["blocked_reason"], what="strict held")
    assert job["status"] == "queued" and job["blocked_reason"].startswith("guardrail: CPU 60% stayed above 50%")
    db_hub.states.async_set(RECORDING, "on")
    await wait_for(lambda: stopped(pids["light"][0]), timeout=1, what="light job paused")
    await asyncio.sleep(0.2)
    assert working(pids["heavy"][0])
    assert db_hub.states.get("binary_sensor.guardrail_cpu").state == "off"  # the global 70% is not reached
    db_hub.states.async_set(RECORDING, "off")  # the strict job is heavy: recording holds it as well
    db_hub.states.async_set("sensor.cpu_percent", "30")
    await wait_for(lambda: pids["cpu50"], timeout=2, what="strict job started")
    for job_id in (light, heavy, strict):
        await queue.cancel(job_id)


async def test_restored_switch_state_is_kept_without_explicit_config(hub: Hub) -> None:
    hub.states.async_restore([State("switch.guardrails", "off")])
    queue = await setup_jobs(hub, fast_config())
    assert queue.guardrails is not None and queue.guardrails.enabled is False
    assert hub.states.get("switch.guardrails").state == "off"


async def test_explicit_enabled_wins_over_the_restored_switch_state(hub: Hub) -> None:
    hub.states.async_restore([State("switch.guardrails", "off")])
    queue = await setup_jobs(hub, fast_config(guardrails={"enabled": "true"}))
    assert queue.guardrails is not None and queue.guardrails.enabled is True
    assert hub.states.get("switch.guardrails").state == "on"


async def test_config_can_make_a_type_light_or_turn_off_the_recording_guard(db_hub: Hub) -> None:
    queue = await setup_jobs(db_hub, fast_config(heavy={"media.thumbnail": False}))
    queue.register_type(JobType("media.thumbnail", _noop, heavy=True))
    db_hub.states.async_set(RECORDING, "on")
    job = await queue.wait(await queue.submit("media.thumbnail", {}), timeout=2)
    assert job["status"] == "done" and job["heavy"] is False


async def test_pause_when_recording_false_from_an_env_style_string(hub: Hub) -> None:
    queue = await setup_jobs(hub, fast_config(guardrails={"pause_when_recording": "false"}))
    queue.register_type(JobType("media.proxy", _noop))
    hub.states.async_set(RECORDING, "on")
    assert (await queue.wait(await queue.submit("media.proxy", {}), timeout=2))["status"] == "done"
    assert hub.states.get("binary_sensor.guardrail_recording").attributes["reason"] == "pause_when_recording is false"
