"""Asset index on real media (ffmpeg lavfi), real SQLite/FTS5 and the real HTTP API."""

# Tests create and inspect small files directly on purpose.
# ruff: noqa: ASYNC240

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import xxhash

from streamops.assets import (
    ASSETS,
    CONFIG_SCHEMA,
    AssetError,
    asset_moved,
    async_setup,
    get_asset,
    record_derivative,
    register_drive_root,
)
from streamops.core import Event, Hub, ServiceError
from tests.helpers_api import ApiHub, api_hub, bearer

WEIRD = 'it\'s "a" $(touch pwned); rm -rf ~ & `id` | ünïcödé Ёлка 🎮 [1].mkv'


def make_media(path: Path, *, duration: float = 2.0, container_args: list[str] | None = None) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size=320x240:rate=15:duration={duration}", "-f", "lavfi", "-i",
         f"sine=frequency=440:duration={duration}", "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", "-c:a", "aac", *(container_args or []), str(path)],
        check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("golden")
    make_media(folder / "clip.mkv")
    make_media(folder / "clip.mp4")
    return folder


def allow(hub: Hub, name: str, root: Path) -> None:
    """What the drives integration does at setup: the folder becomes an allowed, named drive."""
    hub.config.allowed_dirs.append(root.resolve())
    register_drive_root(hub, name, root.resolve())


class Indexed:
    def __init__(self, hub: Hub) -> None:
        self.events: list[dict[str, Any]] = []
        hub.bus.async_listen("asset_indexed", self._on)

    def _on(self, event: Event) -> None:
        self.events.append(dict(event.data))


@pytest.fixture
def drive(tmp_path: Path) -> Path:
    folder = tmp_path / "drive"
    folder.mkdir()
    return folder


@pytest.fixture
async def assets_hub(db_hub: Hub, drive: Path) -> Hub:
    allow(db_hub, "rec", drive)
    assert await async_setup(db_hub, CONFIG_SCHEMA({}))
    return db_hub


@pytest.fixture
async def api(tmp_path: Path, drive: Path) -> AsyncIterator[tuple[ApiHub, aiohttp.ClientSession]]:
    async def setup(hub: Hub) -> None:
        allow(hub, "rec", drive)
        assert await async_setup(hub, CONFIG_SCHEMA({}))

    async with api_hub(tmp_path, setup=setup) as running:
        async with aiohttp.ClientSession(running.base_url, headers=bearer(running.token)) as session:
            yield running, session


async def index(hub: Hub, path: Path, **data: Any) -> dict[str, Any]:
    result = await hub.services.async_call("assets", "index", {"path": str(path), **data}, return_response=True)
    assert result is not None
    return result


async def test_index_extracts_media_facts_and_hash(assets_hub: Hub, drive: Path, media_dir: Path) -> None:
    indexed = Indexed(assets_hub)
    target = drive / "Elden Ring 2024.mkv"
    shutil.copy(media_dir / "clip.mkv", target)
    row = await index(assets_hub, target)
    assert row["status"] == "ok" and row["error"] is None
    assert row["container"] == "matroska"
    assert (row["video_codec"], row["audio_codec"]) == ("h264", "aac")
    assert (row["width"], row["height"], row["fps"]) == (320, 240, 15.0)
    assert row["duration"] == pytest.approx(2.0, abs=0.1)
    assert row["xxh64"] == xxhash.xxh64(target.read_bytes()).hexdigest()
    assert row["sha256"] is None
    assert [s["codec_type"] for s in row["streams"]] == ["video", "audio"]
    assert row["drive"] == "rec" and row["size"] == target.stat().st_size and row["name"] == target.name
    await assets_hub.async_block_till_done()
    assert indexed.events[0]["id"] == row["id"] and indexed.events[0]["status"] == "ok"
    mp4 = await index(assets_hub, shutil.copy(media_dir / "clip.mp4", drive / "clip.mp4"), sha256=True)
    assert mp4["container"] == "mp4" and len(mp4["sha256"]) == 64
    by_path = await get_asset(assets_hub, str(target))
    assert by_path is not None and by_path["xxh64"] == row["xxh64"] and by_path["streams"] == row["streams"]
    by_id = await get_asset(assets_hub, row["id"])
    assert by_id is not None and by_id["path"] == str(target)


async def test_broken_files_get_error_status(assets_hub: Hub, drive: Path, media_dir: Path) -> None:
    good_mkv = (media_dir / "clip.mkv").read_bytes()
    plain_mp4 = (media_dir / "clip.mp4").read_bytes()
    cases = {
        "zero.mkv": b"",
        "half.mkv": good_mkv[: len(good_mkv) // 2],
        "half.mp4": plain_mp4[: len(plain_mp4) // 2],
        "text.mkv": b"this is not a video\n" * 20,
        "notes.txt": b"hello",
        "garbage.mp4": bytes(range(256)) * 40,
    }
    expected = {
        "zero.mkv": "empty file",
        "half.mkv": "truncated: Matroska segment",
        "half.mp4": "",
        "text.mkv": "not a readable media file",
        "notes.txt": "not a readable media file",
        "garbage.mp4": "",
    }
    for name, data in cases.items():
        (drive / name).write_bytes(data)
        row = await index(assets_hub, drive / name)
        assert row["status"] == "error", name
        assert row["error"] and expected[name] in row["error"], (name, row["error"])
        assert row["xxh64"] == xxhash.xxh64(data).hexdigest()
    faststart = drive / "faststart cut.mp4"
    make_media(drive / "fs.mp4", container_args=["-movflags", "+faststart"])
    data = (drive / "fs.mp4").read_bytes()
    faststart.write_bytes(data[: len(data) * 2 // 3])
    row = await index(assets_hub, faststart)
    assert row["status"] == "error" and "truncated: MP4 box 'mdat'" in row["error"]
    errors = await assets_hub.services.async_call("assets", "search", {"status": "error"}, return_response=True)
    assert errors["total"] == len(cases) + 1


async def test_incremental_rescan_skips_unchanged(assets_hub: Hub, drive: Path, media_dir: Path) -> None:
    indexed = Indexed(assets_hub)
    for index_ in range(5):
        folder = drive / f"day{index_ % 2}"
        folder.mkdir(exist_ok=True)
        (folder / f"clip{index_}.mkv").write_bytes((media_dir / "clip.mkv").read_bytes() + bytes([index_]))
    (drive / "day0" / "readme.txt").write_text("not media, not picked up by a folder index")
    (drive / ".hidden.mkv").write_bytes(b"x")
    first = await index(assets_hub, drive)
    assert (first["files"], first["indexed"], first["skipped"], first["errors"]) == (5, 5, 0, 0)
    stamps = {row["path"]: row["indexed_at"] for row in (await assets_hub.data[ASSETS].search({}))["items"]}
    second = await index(assets_hub, drive)
    assert (second["indexed"], second["skipped"]) == (0, 5)
    after = {row["path"]: row["indexed_at"] for row in (await assets_hub.data[ASSETS].search({}))["items"]}
    assert after == stamps, "an unchanged file was re-indexed"
    changed = drive / "day1" / "clip1.mkv"
    changed.write_bytes(changed.read_bytes() + b"more")
    third = await index(assets_hub, drive)
    assert (third["indexed"], third["skipped"]) == (1, 4)
    forced = await index(assets_hub, drive, force=True)
    assert forced["indexed"] == 5
    await assets_hub.async_block_till_done()
    assert len(indexed.events) == 5 + 1 + 5


async def test_sidecar_captions_and_tags(assets_hub: Hub, drive: Path, media_dir: Path) -> None:
    target = drive / "session.mkv"
    shutil.copy(media_dir / "clip.mkv", target)
    (drive / "session.json").write_text(
        json.dumps({"title": "Boss fight against Malenia", "game": "Elden Ring", "tags": ["highlight", "boss"]})
    )
    (drive / "session.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\n<i>Let me solo her</i>\n")
    row = await index(assets_hub, target, tags=["stream"])
    assert "Malenia" in row["sidecar"] and "Let me solo her" in row["captions"]
    assert row["tags"] == ["highlight", "boss", "stream"]
    search = assets_hub.data[ASSETS].search
    assert (await search({"q": "malen"}))["total"] == 1
    assert (await search({"q": "solo"}))["total"] == 1
    assert (await search({"q": "fights"}))["total"] == 1  # porter: fights → fight
    assert (await search({"tag": "boss"}))["total"] == 1
    tagged = await assets_hub.services.async_call(
        "assets", "tag", {"path": str(target), "add": ["best of"], "remove": "boss"}, return_response=True
    )
    assert tagged["tags"] == ["highlight", "stream", "best of"]
    assert (await search({"tag": "boss"}))["total"] == 0
    assert (await search({"q": "best"}))["total"] == 1
    replaced = await assets_hub.services.async_call(
        "assets", "tag", {"id": row["id"], "set": ["archive"]}, return_response=True
    )
    assert replaced["tags"] == ["archive"]
    with pytest.raises(ServiceError, match="not in the asset index"):
        await assets_hub.services.async_call("assets", "tag", {"path": str(drive / "nope.mkv"), "add": ["x"]})


async def test_prefix_search_and_filters_through_http_api(
    api: tuple[ApiHub, aiohttp.ClientSession], drive: Path, media_dir: Path
) -> None:
    running, session = api
    hub = running.hub
    names = ["Elden Ring speedrunning.mkv", "Celeste any%.mkv", "Tetris 99 finale.mp4"]
    for number, name in enumerate(names):
        source = media_dir / ("clip.mp4" if name.endswith("mp4") else "clip.mkv")
        (drive / name).write_bytes(source.read_bytes() + bytes([number]))
    short = make_media(drive / "short clip.mkv", duration=1.0)
    await index(hub, drive)

    async def get(query: str, status: int = 200) -> dict[str, Any]:
        async with session.get("/api/assets" + query) as response:
            assert response.status == status, await response.text()
            return await response.json()

    found = await get("?q=eld")
    assert [item["name"] for item in found["items"]] == ["Elden Ring speedrunning.mkv"]
    assert found["total"] == 1
    assert (await get("?q=speedrunn"))["items"][0]["name"] == "Elden Ring speedrunning.mkv"
    assert (await get("?q=eld%20rin"))["total"] == 1
    assert (await get("?q=eld%20tetris"))["total"] == 0
    assert (await get("?q=cel"))["items"][0]["name"] == "Celeste any%.mkv"
    assert (await get("?codec=aac"))["total"] == 4
    assert (await get("?q=clip&max_duration=1.5"))["items"][0]["path"] == str(short)
    assert (await get("?min_duration=1.5"))["total"] == 3
    assert (await get("?drive=rec&limit=2"))["total"] == 4
    page = await get("?sort=name&limit=2&offset=2")
    assert [item["name"] for item in page["items"]] == ["short clip.mkv", "Tetris 99 finale.mp4"]
    assert (await get("?since=2000-01-01&until=2999-01-01"))["total"] == 4
    assert (await get(f"?until={time.time() - 3600}"))["total"] == 0
    assert "since" in (await get("?since=yesterday", 400))["message"]
    assert "unknown parameter" in (await get("?colour=red", 400))["message"]
    assert (await get("?q=%22%2A%29(", 400))["message"].startswith("q:")
    detail_id = found["items"][0]["id"]
    async with session.get(f"/api/assets/{detail_id}") as response:
        detail = await response.json()
        assert detail["streams"][0]["codec_name"] == "h264" and detail["derivatives"] == []
    async with session.get("/api/assets/999999") as response:
        assert response.status == 404
    async with aiohttp.ClientSession(running.base_url) as anonymous, anonymous.get("/api/assets?q=eld") as response:
        assert response.status == 401


async def test_duplicates_reported_never_deleted(
    api: tuple[ApiHub, aiohttp.ClientSession], drive: Path, media_dir: Path
) -> None:
    running, session = api
    data = (media_dir / "clip.mkv").read_bytes()
    for name in ("a.mkv", "copy of a.mkv", "sub/another copy.mkv"):
        (drive / name).parent.mkdir(exist_ok=True)
        (drive / name).write_bytes(data)
    (drive / "different.mkv").write_bytes(data + b"!")
    (drive / "empty1.mkv").write_bytes(b"")
    (drive / "empty2.mkv").write_bytes(b"")
    await index(running.hub, drive)
    last = await index(running.hub, drive / "a.mkv", force=True)
    assert len(last["duplicates"]) == 2
    async with session.get("/api/assets/duplicates") as response:
        body = await response.json()
    assert len(body["groups"]) == 1, "zero-byte files are not duplicates of each other"
    group = body["groups"][0]
    assert group["count"] == 3 and group["wasted_bytes"] == 2 * len(data)
    assert sorted(Path(a["path"]).name for a in group["assets"]) == ["a.mkv", "another copy.mkv", "copy of a.mkv"]
    assert all(Path(a["path"]).exists() for a in group["assets"])
    async with session.get(f"/api/assets/{group['assets'][0]['id']}") as response:
        assert len((await response.json())["duplicates"]) == 2


async def test_paths_outside_drives_refused(
    api: tuple[ApiHub, aiohttp.ClientSession], tmp_path: Path, media_dir: Path
) -> None:
    running, session = api
    outside = tmp_path / "outside.mkv"
    shutil.copy(media_dir / "clip.mkv", outside)
    with pytest.raises(ServiceError, match="outside the configured drives"):
        await index(running.hub, outside)
    with pytest.raises(ServiceError, match="outside the configured drives"):
        await index(running.hub, running.hub.config.allowed_dirs[0] / ".." / "outside.mkv")
    with pytest.raises(ServiceError, match="must be absolute"):
        await index(running.hub, Path("relative.mkv"))
    async with session.post("/api/assets/index", json={"path": str(outside)}) as response:
        assert response.status == 403
        assert "outside the configured drives" in (await response.json())["message"]
    async with session.get("/api/assets", params={"path": "/etc/passwd"}) as response:
        assert response.status == 403
    async with session.post("/api/assets/index", data=b"{not json") as response:
        assert response.status == 400
    assert (await running.hub.data[ASSETS].search({}))["total"] == 0


async def test_weird_names_end_to_end(api: tuple[ApiHub, aiohttp.ClientSession], drive: Path, media_dir: Path) -> None:
    _running, session = api
    folder = drive / "Game: «Ёлка» & co's $HOME"
    folder.mkdir()
    target = folder / WEIRD
    shutil.copy(media_dir / "clip.mkv", target)
    async with session.post("/api/assets/index", json={"path": str(target)}) as response:
        assert response.status == 200, await response.text()
        row = await response.json()
    assert row["status"] == "ok" and row["path"] == str(target)
    async with session.get("/api/assets", params={"q": "ёлк"}) as response:
        items = (await response.json())["items"]
    assert [item["path"] for item in items] == [str(target)]
    async with session.get("/api/assets", params={"path": str(target)}) as response:
        assert (await response.json())["items"][0]["id"] == row["id"]
    assert not Path("pwned").exists()


async def test_dry_run_touches_nothing(assets_hub: Hub, drive: Path, media_dir: Path) -> None:
    target = drive / "dry run $(x).mkv"
    shutil.copy(media_dir / "clip.mkv", target)
    plan = await assets_hub.services.async_call("assets", "index", {"path": str(target)}, dry_run=True)
    assert plan is not None and plan["dry_run"] is True
    assert plan["command"][0].endswith("ffprobe") and plan["command"][-1] == f"file:{target}"
    folder_plan = await assets_hub.services.async_call("assets", "index", {"path": str(drive)}, dry_run=True)
    assert folder_plan["files"] == 1
    assert await get_asset(assets_hub, str(target)) is None


async def test_record_derivative_and_move(assets_hub: Hub, drive: Path, media_dir: Path, tmp_path: Path) -> None:
    target = drive / "to thumb.mkv"
    shutil.copy(media_dir / "clip.mkv", target)
    thumbs = tmp_path / "thumbs"
    # Not indexed yet: recording a derivative indexes the asset first.
    first = await record_derivative(assets_hub, target, "thumb", thumbs / "a.jpg")
    asset = await get_asset(assets_hub, target)
    assert asset is not None and first["asset_id"] == asset["id"]
    await record_derivative(assets_hub, asset["id"], "thumb", thumbs / "b.jpg")
    await record_derivative(assets_hub, str(target), "waveform", thumbs / "w.png")
    detail = await assets_hub.data[ASSETS].detail(asset["id"])
    assert detail is not None
    assert {(d["kind"], Path(d["path"]).name) for d in detail["derivatives"]} == {
        ("thumb", "b.jpg"),
        ("waveform", "w.png"),
    }
    with pytest.raises(AssetError, match="unknown derivative kind"):
        await record_derivative(assets_hub, asset["id"], "poster", thumbs / "p.jpg")
    with pytest.raises(AssetError, match="no asset with id"):
        await record_derivative(assets_hub, 424242, "thumb", thumbs / "p.jpg")
    moved = drive / "Edited" / "moved.mkv"
    moved.parent.mkdir()
    target.rename(moved)
    row = await asset_moved(assets_hub, str(target), str(moved))
    assert row is not None and row["id"] == asset["id"] and row["path"] == str(moved)
    assert (await assets_hub.data[ASSETS].search({"q": "moved"}))["total"] == 1
    assert (await assets_hub.data[ASSETS].search({"q": "thumb"}))["total"] == 0
    again = await index(assets_hub, moved)
    assert again.get("skipped") is True, "a moved file is not re-hashed"


async def test_index_on_close_with_real_drive_watcher(db_hub: Hub, drive: Path, media_dir: Path) -> None:
    from integrations.drives import CONFIG_SCHEMA as DRIVES_SCHEMA
    from integrations.drives import async_setup as drives_setup

    assert await async_setup(db_hub, CONFIG_SCHEMA({"index_on_close": True}))
    assert await drives_setup(db_hub, DRIVES_SCHEMA({"rec": {"path": str(drive), "min_quiet_seconds": 0.5}}))
    done = asyncio.Event()
    seen: list[dict[str, Any]] = []

    def on_indexed(event: Event) -> None:
        seen.append(dict(event.data))
        done.set()

    db_hub.bus.async_listen("asset_indexed", on_indexed)
    await db_hub.async_start()
    shutil.copy(media_dir / "clip.mkv", drive / "fresh recording.mkv")
    async with asyncio.timeout(10):
        await done.wait()
    assert seen[0]["path"] == str(drive.resolve() / "fresh recording.mkv")
    assert seen[0]["drive"] == "rec" and seen[0]["status"] == "ok"


def test_config_defaults() -> None:
    config = CONFIG_SCHEMA({})
    assert config["index_on_close"] is False and config["sha256"] is False
    assert ".mkv" in config["extensions"]
    assert CONFIG_SCHEMA({"extensions": ["MKV", ".mp4"]})["extensions"] == [".mkv", ".mp4"]


async def test_both_search_plans_agree(
    assets_hub: Hub, drive: Path, media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamops.assets.index as index_module

    data = (media_dir / "clip.mkv").read_bytes()
    for number in range(6):
        (drive / f"speedrun part {number}.mkv").write_bytes(data + bytes([number]))
    (drive / "other.mkv").write_bytes(data + b"other")
    await index(assets_hub, drive)
    search = assets_hub.data[ASSETS].search
    args = {"q": "spe", "limit": "4", "sort": "oldest"}
    sorted_plan = await search(dict(args))
    monkeypatch.setattr(index_module, "WALK_THRESHOLD", 0)
    walked = await search(dict(args))
    assert walked == sorted_plan and walked["total"] == 6 and len(walked["items"]) == 4
    assert (await search({"q": "spe", "codec": "h264", "limit": "2"}))["total"] == 6
    assert (await search({"q": "nomatchatall"}))["total"] == 0
