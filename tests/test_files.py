"""files.* services on real filesystems (disk + tmpfs mounts for cross-drive and full-drive cases)."""

# ruff: noqa: ASYNC220, ASYNC221, ASYNC240, ASYNC251 - kill -9 tests drive a child process synchronously

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import xxhash
from helpers_media import setup_media_hub
from media_fixtures import make_video, temporaries

from streamops.core import Hub, ServiceError

HELPER = Path(__file__).with_name("helpers_media.py")


def mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
        ).returncode
        == 0
    )


@pytest.fixture
def other_drive(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "ssd"
    if not mount_tmpfs(mount, "1g"):
        pytest.skip("cannot mount a tmpfs (needs root): no second filesystem for cross-drive tests")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
async def files_hub(db_hub: Hub, tmp_path: Path) -> Hub:
    drive = tmp_path / "drive"
    drive.mkdir()
    return await setup_media_hub(db_hub, [drive])


def digest(path: Path) -> str:
    return xxhash.xxh64(path.read_bytes()).hexdigest()


def random_file(path: Path, megabytes: int) -> Path:
    block = os.urandom(1 << 20)
    with open(path, "wb") as handle:
        for index in range(megabytes):
            handle.write(index.to_bytes(8, "little") + block[8:])
    return path


async def call(hub: Hub, service: str, data: dict, dry_run: bool = False) -> dict:
    result = await hub.services.async_call("files", service, data, return_response=True, dry_run=dry_run)
    assert isinstance(result, dict)
    return result


async def test_move_same_drive_renders_template_and_renames(files_hub: Hub, tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    source = random_file(drive / "rec 'one' $(x).mkv", 1)
    os.utime(source, (1_700_000_000, 1_700_000_000))  # 2023-11-14 local
    expected_hash = digest(source)
    plan = await call(
        files_hub, "move", {"source": str(source), "destination": f"{drive}/{{Game}}/{{YYYY}}/"}, dry_run=True
    )
    assert plan["method"] == "rename" and source.exists()
    result = await call(files_hub, "move", {"source": str(source), "destination": f"{drive}/{{Game}}/{{YYYY}}/"})
    out = Path(result["output"])
    assert out.parent == drive / "Unknown" / "2023" and out.name == source.name
    assert result["method"] == "rename" and not source.exists() and digest(out) == expected_hash


async def test_collisions_suffix_skip_and_identical_overwrite(files_hub: Hub, tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    (drive / "dest").mkdir()
    other = random_file(drive / "dest" / "a.bin", 1)
    source = random_file(drive / "a.bin", 1)
    result = await call(files_hub, "copy", {"source": str(source), "destination": f"{drive}/dest/"})
    assert Path(result["output"]).name == "a (1).bin" and digest(Path(result["output"])) == digest(source)
    skipped = await call(
        files_hub, "copy", {"source": str(source), "destination": f"{drive}/dest/x.bin", "collision": "skip"}
    )
    assert "skipped" not in skipped  # x.bin did not exist
    skipped = await call(
        files_hub, "move", {"source": str(source), "destination": f"{drive}/dest/a.bin", "collision": "skip"}
    )
    assert skipped["skipped"] is True and source.exists() and digest(other) != digest(source)
    with pytest.raises(ServiceError, match="overwriting is only allowed when they are identical"):
        await call(
            files_hub, "move", {"source": str(source), "destination": f"{drive}/dest/a.bin", "collision": "overwrite"}
        )
    same = await call(
        files_hub, "move", {"source": str(source), "destination": f"{drive}/dest/a (1).bin", "collision": "overwrite"}
    )
    assert same["output"].endswith("a (1).bin") and not source.exists()
    assert sorted(p.name for p in (drive / "dest").iterdir()) == ["a (1).bin", "a.bin", "x.bin"]


async def test_cross_drive_move_verifies_then_deletes_source(files_hub: Hub, tmp_path: Path, other_drive: Path) -> None:
    files_hub.config.allowed_dirs.append(other_drive)
    source = random_file(tmp_path / "drive" / "big.bin", 20)
    expected = digest(source)
    result = await call(files_hub, "move", {"source": str(source), "destination": f"{other_drive}/{{YYYY}}/"})
    out = Path(result["output"])
    assert result["method"] == "copy+verify" and result["xxh64"] == expected
    assert not source.exists() and digest(out) == expected
    assert [p.name for p in out.parent.iterdir()] == ["big.bin"]


async def test_full_destination_is_a_clear_error_and_nothing_lost(files_hub: Hub, tmp_path: Path) -> None:
    tiny = tmp_path / "tiny"
    if not mount_tmpfs(tiny, "1m"):
        pytest.skip("cannot mount a tmpfs (needs root)")
    try:
        files_hub.config.allowed_dirs.append(tiny)
        source = random_file(tmp_path / "drive" / "big.bin", 3)
        expected = digest(source)
        with pytest.raises(ServiceError, match=r"not enough free space in .*tiny"):
            await call(files_hub, "move", {"source": str(source), "destination": f"{tiny}/"})
        assert digest(source) == expected and list(tiny.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(tiny)], check=False)


async def test_outside_drives_is_refused(files_hub: Hub, tmp_path: Path) -> None:
    source = random_file(tmp_path / "drive" / "a.bin", 1)
    with pytest.raises(ServiceError, match=r"destination /etc/a\.bin is outside the configured drives"):
        await call(files_hub, "move", {"source": str(source), "destination": "/etc/"})
    with pytest.raises(ServiceError, match="destination must be an absolute path"):
        await call(files_hub, "move", {"source": str(source), "destination": "relative/{Game}/"})
    assert source.exists()


async def test_archive_folder_to_zip_and_tar(files_hub: Hub, tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    folder = drive / "session ü"
    (folder / "sub").mkdir(parents=True)
    random_file(folder / "a.bin", 1)
    (folder / "sub" / "notes.txt").write_text("hi")
    result = await call(files_hub, "archive", {"source": str(folder), "destination": f"{drive}/archives/"})
    assert result["output"] == str(drive / "archives" / "session ü.zip") and result["files"] == 2
    with zipfile.ZipFile(result["output"]) as archive:
        assert sorted(archive.namelist()) == ["session ü/a.bin", "session ü/sub/notes.txt"]
    tar = await call(
        files_hub, "archive", {"source": str(folder), "destination": f"{drive}/s.tar.gz", "format": "tar.gz"}
    )
    assert tar["files"] == 2 and temporaries(drive) == []


async def test_archive_never_takes_a_recordings_name(files_hub: Hub, tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    recording = drive / "take.mov"
    random_file(recording, 1)
    before = recording.read_bytes()
    folder = drive / "clips"
    folder.mkdir()
    random_file(folder / "a.bin", 1)
    result = await call(files_hub, "archive", {"source": str(folder), "destination": str(recording), "overwrite": True})
    assert result["output"] == str(drive / "take.mov.zip")
    assert recording.read_bytes() == before


async def test_sidecar_has_media_facts(files_hub: Hub, tmp_path: Path) -> None:
    media = make_video(tmp_path / "drive" / "rec.mkv", duration=2, audio_tracks=2)
    result = await call(files_hub, "write_sidecar", {"path": str(media), "extra": {"note": "gg"}})
    data = json.loads(Path(result["output"]).read_text())
    assert result["output"] == str(media) + ".json"
    assert data["game"] == "Unknown" and abs(data["duration"] - 2) < 0.2 and data["average_bitrate"] > 0
    assert data["video_codec"] == "h264" and data["audio_codecs"] == ["aac", "aac"] and data["extra"] == {"note": "gg"}


async def test_interrupted_after_copy_deletes_source_exactly_once(
    files_hub: Hub, tmp_path: Path, other_drive: Path
) -> None:
    """The crash window between rename and source deletion: the next run only deletes the source."""
    files_hub.config.allowed_dirs.append(other_drive)
    source = random_file(tmp_path / "drive" / "a.bin", 2)
    (other_drive / "a.bin").write_bytes(source.read_bytes())
    (other_drive / ".a.bin.streamops-move.json").write_text(
        json.dumps({"source": str(source), "final": str(other_drive / "a.bin"), "size": 2 << 20, "phase": "verified"})
    )
    result = await call(files_hub, "move", {"source": str(source), "destination": f"{other_drive}/"})
    assert result["output"] == str(other_drive / "a.bin") and result["resumed"] is True
    assert not source.exists() and sorted(p.name for p in other_drive.iterdir()) == ["a.bin"]


async def test_kill_9_during_cross_drive_move_then_restart(tmp_path: Path, other_drive: Path) -> None:
    drive = tmp_path / "drive"
    drive.mkdir()
    config, data = tmp_path / "config", tmp_path / "data"
    config.mkdir()
    data.mkdir()
    source = random_file(drive / "big.bin", 600)
    expected = digest(source)
    payload = json.dumps({"source": str(source), "destination": f"{other_drive}/"})
    child = subprocess.Popen(
        [
            sys.executable,
            str(HELPER),
            str(config),
            str(data),
            str(drive),
            str(other_drive),
            "--",
            "files.move",
            payload,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    temp = other_drive / ".big.streamops-tmp.bin"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if temp.exists() and temp.stat().st_size > 0:
            break
        assert child.poll() is None, child.stdout.read().decode() if child.stdout else ""
        time.sleep(0.002)
    else:
        child.kill()
        pytest.fail("the move never started")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert source.exists()  # killed mid-copy: the source is untouched

    hub = Hub(config, data)
    try:
        await setup_media_hub(hub, [drive, other_drive])
        from streamops.jobs import JOBS

        queue = hub.data[JOBS]
        jobs = await queue.list(job_type="files.move")
        assert len(jobs) == 1
        row = await queue.wait(jobs[0]["id"], timeout=120)
        assert row["status"] == "done", row
    finally:
        await hub.async_stop()
    assert not source.exists()
    assert sorted(p.name for p in other_drive.iterdir()) == ["big.bin"]
    assert digest(other_drive / "big.bin") == expected
