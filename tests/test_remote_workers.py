# ruff: noqa: ASYNC240 - stat() in assertions
"""Remote workers end to end: a real nats-server (JetStream) on a free port, an in-process hub and
real `python -m streamops worker` subprocesses.

Job types: `media.thumbnail` on an ffmpeg-generated clip (the real media runner, with path mapping),
and the `test.slow` plugin type from tests/helpers_remote_jobs.py (loaded by the workers with
`--plugin`), whose completion log proves a redelivered job finished exactly once.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from integrations.remote_workers import REMOTE
from integrations.remote_workers.const import SENSOR_STATUS
from streamops.core import Hub
from tests.helpers_remote_workers import WorkerProcess, db_of, queue_of, start_hub
from tests.media_fixtures import make_video
from tests.nats_server import NatsServer, nats_server
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    with nats_server(tmp_path / "nats") as server:
        yield server


class Workers:
    def __init__(self) -> None:
        self.all: list[WorkerProcess] = []

    def start(self, *args: Any, **kwargs: Any) -> WorkerProcess:
        worker = WorkerProcess(*args, **kwargs).start()
        self.all.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.all:
            worker.stop()


@pytest.fixture
def workers() -> Iterator[Workers]:
    group = Workers()
    yield group
    group.stop()


@pytest.fixture
async def hubs() -> AsyncIterator[list[Hub]]:
    started: list[Hub] = []
    yield started
    for hub in started:
        await hub.async_stop()


async def wait_available(hub: Hub, *names: str, timeout: float = 30.0) -> None:
    def ready() -> bool:
        states = [hub.states.get(f"sensor.worker_{n}") for n in names]
        return all(s is not None and s.state in ("idle", "busy") for s in states)

    ready.__name__ = f"workers {names} available"
    await wait_until(ready, timeout, 0.05)


async def remote_rows(hub: Hub) -> list[dict[str, Any]]:
    rows = await db_of(hub).fetchall("SELECT * FROM so_remote_jobs ORDER BY job_id, attempt")
    return [dict(r) for r in rows]


def completions(log: Path) -> list[tuple[int, int, int]]:
    if not log.exists():
        return []
    return [tuple(int(x) for x in line.split()) for line in log.read_text().splitlines() if line.strip()]  # type: ignore[misc]


# ------------------------------------------------------------------------------------------------
async def test_twenty_thumbnails_spread_over_two_workers_with_path_mapping(
    tmp_path: Path, nats: NatsServer, workers: Workers, hubs: list[Hub]
) -> None:
    media = tmp_path / "hub_media"
    media.mkdir()
    clip = make_video(media / "clip.mp4", duration=2.0, size="160x120")
    mount = tmp_path / "worker_mount"
    mount.symlink_to(media)  # the same files under another path, like an SMB mount on the worker
    hub = await start_hub(tmp_path / "hub", nats.url, remote={"job_types": ["media.thumbnail"]})
    hubs.append(hub)
    for name in ("w1", "w2"):
        workers.start(name, nats.url, tmp_path, ["media.thumbnail"], path_map={str(media): str(mount)})
    await wait_available(hub, "w1", "w2")
    queue = queue_of(hub)
    ids = [
        await queue.submit("media.thumbnail", {"input": str(clip), "output": str(media / f"t{i}.jpg"), "width": 96})
        for i in range(20)
    ]
    jobs = [await queue.wait(job_id, timeout=60) for job_id in ids]
    assert [j["status"] for j in jobs] == ["done"] * 20, [j["error"] for j in jobs]
    for i, job in enumerate(jobs):
        assert job["result"]["output"] == str(media / f"t{i}.jpg")  # mapped back to the hub's path
        assert job["result"]["worker"] in ("w1", "w2")
        assert (media / f"t{i}.jpg").stat().st_size > 0
    assert not [p.name for p in media.iterdir() if "streamops-tmp" in p.name]
    rows = await remote_rows(hub)
    assert {r["worker"] for r in rows} == {"w1", "w2"}, "both workers took jobs"
    assert len(rows) == 20 and all(r["status"] == "done" for r in rows)
    state = hub.states.get("sensor.worker_w1")
    assert state is not None
    assert state.attributes["paths"] == [
        {"hub": str(media), "worker": str(mount), "exists": True, "read": True, "write": True}
    ]
    assert "media.thumbnail" in state.attributes["job_types"]
    assert hub.states.get(SENSOR_STATUS).state == "connected"  # type: ignore[union-attr]


async def _running_on(hub: Hub, job_id: int) -> str | None:
    """The worker the hub's journal says runs this job (`label@host:pid` in so_jobs.worker)."""
    row = await db_of(hub).fetchone("SELECT worker, progress FROM so_jobs WHERE id = ?", (job_id,))
    if row is None or not row["worker"] or "@" not in row["worker"] or not row["progress"]:
        return None
    return str(row["worker"]).split("@", 1)[0]


async def wait_running_on(hub: Hub, job_id: int, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        worker = await _running_on(hub, job_id)
        if worker is not None:
            return worker
        assert time.monotonic() < deadline, f"job {job_id} never reported progress from a worker"
        await asyncio.sleep(0.05)


async def wait_any_running(hub: Hub, ids: list[int], timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        for job_id in ids:
            if await _running_on(hub, job_id) is not None:
                return job_id
        assert time.monotonic() < deadline, f"none of jobs {ids} reported progress from a worker"
        await asyncio.sleep(0.05)


async def test_kill_9_worker_mid_job_redelivers_and_finishes_once(
    tmp_path: Path, nats: NatsServer, workers: Workers, hubs: list[Hub]
) -> None:
    out, log = tmp_path / "out", tmp_path / "completions.log"
    hub = await start_hub(tmp_path / "hub", nats.url, remote={"job_types": ["test.slow"], "local_fallback": False})
    hubs.append(hub)
    procs = {n: workers.start(n, nats.url, tmp_path, ["test.slow"]) for n in ("w1", "w2")}
    await wait_available(hub, "w1", "w2")
    queue = queue_of(hub)
    params = {"output": str(out / "slow.txt"), "steps": 30, "step_seconds": 0.1, "log": str(log)}
    job_id = await queue.submit("test.slow", params)
    victim = await wait_running_on(hub, job_id)
    procs[victim].kill9()
    survivor = "w2" if victim == "w1" else "w1"
    job = await queue.wait(job_id, timeout=60)
    assert job["status"] == "done", job["error"]
    assert job["result"]["worker"] == survivor
    assert job["attempts"] == 1  # a redelivery is not a new attempt
    assert [(j, a) for j, a, _pid in completions(log)] == [(job_id, 1)]  # finished exactly once
    assert sorted(p.name for p in out.iterdir()) == ["slow.txt"]  # no second copy, no temporary left
    assert (out / "slow.txt").read_text().endswith("complete\n")
    rows = await remote_rows(hub)
    assert len(rows) == 1 and rows[0]["worker"] == survivor and rows[0]["deliveries"] >= 2
    await wait_until(lambda: hub.states.get(f"sensor.worker_{victim}").state == "unavailable", 10)  # type: ignore[union-attr]


async def test_nats_restart_mid_run_loses_nothing(
    tmp_path: Path, nats: NatsServer, workers: Workers, hubs: list[Hub]
) -> None:
    out, log = tmp_path / "out", tmp_path / "completions.log"
    hub = await start_hub(tmp_path / "hub", nats.url, remote={"job_types": ["test.slow"], "local_fallback": False})
    hubs.append(hub)
    for name in ("w1", "w2"):
        workers.start(name, nats.url, tmp_path, ["test.slow"])
    await wait_available(hub, "w1", "w2")
    queue = queue_of(hub)
    ids = [
        await queue.submit(
            "test.slow", {"output": str(out / f"s{i}.txt"), "steps": 8, "step_seconds": 0.1, "log": str(log)}
        )
        for i in range(6)
    ]
    await wait_any_running(hub, ids)
    nats.restart()  # same port, same store: the streams and the consumers' state survive
    jobs = [await queue.wait(job_id, timeout=60) for job_id in ids]
    assert [j["status"] for j in jobs] == ["done"] * 6, [j["error"] for j in jobs]
    assert sorted(p.name for p in out.iterdir()) == [f"s{i}.txt" for i in range(6)]
    runs = [j for j, _a, _p in completions(log)]
    assert sorted(set(runs)) == ids  # every job ran
    assert len(runs) == len(ids)  # and none ran twice (redeliveries found the output already done)
    await wait_until(lambda: hub.states.get(SENSOR_STATUS).state == "connected", 10)  # type: ignore[union-attr]


async def test_hub_restart_while_workers_run_still_journals_results(
    tmp_path: Path, nats: NatsServer, workers: Workers, hubs: list[Hub]
) -> None:
    out, log = tmp_path / "out", tmp_path / "completions.log"
    remote = {"job_types": ["test.slow"], "local_fallback": False}
    hub = await start_hub(tmp_path / "hub", nats.url, remote=remote)
    for name in ("w1", "w2"):
        workers.start(name, nats.url, tmp_path, ["test.slow"])
    await wait_available(hub, "w1", "w2")
    queue = queue_of(hub)
    ids = [
        await queue.submit(
            "test.slow", {"output": str(out / f"h{i}.txt"), "steps": 20, "step_seconds": 0.1, "log": str(log)}
        )
        for i in range(4)
    ]
    await wait_any_running(hub, ids)
    await hub.async_stop()  # the workers go on; their results wait in the results stream
    await wait_until(lambda: len(completions(log)) == 4, 30)
    hub = await start_hub(tmp_path / "hub", nats.url, remote=remote)  # same data dir
    hubs.append(hub)
    queue = queue_of(hub)
    jobs = [await queue.wait(job_id, timeout=30) for job_id in ids]
    assert [j["status"] for j in jobs] == ["done"] * 4, [j["error"] for j in jobs]
    assert {j["result"]["worker"] for j in jobs} <= {"w1", "w2"}
    assert sorted(j for j, _a, _p in completions(log)) == ids  # each ran once: no re-dispatch after the restart
    rows = await remote_rows(hub)
    assert sorted(r["job_id"] for r in rows) == ids and all(r["status"] == "done" for r in rows)


async def test_unreachable_nats_falls_back_to_local_and_says_so(tmp_path: Path, hubs: list[Hub]) -> None:
    from tests.nats_server import free_port

    media = tmp_path / "media"
    media.mkdir()
    clip = make_video(media / "clip.mp4", duration=1.0, size="160x120")
    hub = await start_hub(
        tmp_path / "hub", f"nats://127.0.0.1:{free_port()}", remote={"job_types": ["media.thumbnail"]}
    )
    hubs.append(hub)
    queue = queue_of(hub)
    job_id = await queue.submit("media.thumbnail", {"input": str(clip), "output": str(media / "t.jpg"), "width": 64})
    job = await queue.wait(job_id, timeout=30)
    assert job["status"] == "done", job["error"]
    assert "worker" not in job["result"]  # ran here
    status = hub.states.get(SENSOR_STATUS)
    assert status is not None and status.state == "fallback"
    assert "unreachable" in status.attributes["reason"]
    assert status.attributes["local_runs"] == 1
    assert hub.data[REMOTE].last_local_reason is not None


async def test_disabled_means_purely_local(tmp_path: Path, hubs: list[Hub]) -> None:
    hub = await start_hub(tmp_path / "hub", "nats://127.0.0.1:1", remote={"enabled": False})
    hubs.append(hub)
    assert queue_of(hub).types["media.thumbnail"].resource == "cpu"  # the local runner, untouched
    assert hub.states.get(SENSOR_STATUS).state == "disabled"  # type: ignore[union-attr]


async def test_worker_rejects_paths_outside_its_mapping_and_unknown_payloads(
    tmp_path: Path, nats: NatsServer, workers: Workers, hubs: list[Hub]
) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    hub = await start_hub(tmp_path / "hub", nats.url, remote={"job_types": ["test.slow"], "local_fallback": False})
    hubs.append(hub)
    workers.start("w1", nats.url, tmp_path, ["test.slow"], path_map={str(allowed): str(allowed)})
    await wait_available(hub, "w1")
    queue = queue_of(hub)
    job_id = await queue.submit("test.slow", {"output": "/etc/streamops-should-not-exist.txt", "steps": 1})
    job = await queue.wait(job_id, timeout=30)
    assert job["status"] == "error" and job["attempts"] == 1  # not retried: retrying cannot help
    assert "rejected" in job["error"] and "outside this worker's mapped folders" in job["error"]
    assert not os.path.exists("/etc/streamops-should-not-exist.txt")
    job_id = await queue.submit("test.slow", {"output": str(allowed / "ok.txt"), "steps": 1, "command": "rm -rf /"})
    job = await queue.wait(job_id, timeout=30)
    assert job["status"] == "error" and "command-like params" in job["error"]
