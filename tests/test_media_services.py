"""media.* services end to end: real hub, real job queue, real ffmpeg, golden media made at test time."""

# ruff: noqa: ASYNC240 - tests read small files synchronously on purpose

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from helpers_media import setup_media_hub
from media_fixtures import (
    duration_of,
    ffprobe,
    first_frame_is_keyframe,
    keyframes,
    make_corrupt,
    make_cuts_video,
    make_loud_bursts_video,
    make_video,
    temporaries,
    video_stream,
)

from streamops.core import Hub, ServiceError


@pytest.fixture
async def media_hub(db_hub: Hub, tmp_path: Path) -> Hub:
    drive = tmp_path / "drive"
    drive.mkdir()
    return await setup_media_hub(db_hub, [drive])


@pytest.fixture
def drive(tmp_path: Path) -> Path:
    return tmp_path / "drive"


async def call(hub: Hub, service: str, data: dict, dry_run: bool = False) -> dict:
    result = await hub.services.async_call("media", service, data, return_response=True, dry_run=dry_run)
    assert isinstance(result, dict)
    return result


async def test_remux_mkv_to_mov_keeps_source_and_verifies(media_hub: Hub, drive: Path) -> None:
    source = make_video(drive / "rec.mkv", duration=3, audio_tracks=2)
    before = source.read_bytes()
    result = await call(media_hub, "remux", {"input": str(source)})
    out = Path(result["output"])
    assert out == drive / "rec.mov" and result["job_id"] > 0
    probe = ffprobe(out)
    assert [s["codec_name"] for s in probe["streams"]] == ["h264", "aac", "aac"]
    assert "mov" in probe["format"]["format_name"]
    assert abs(float(probe["format"]["duration"]) - 3.0) < 0.2
    assert source.read_bytes() == before  # never deleted or touched by default
    assert temporaries(drive) == []


async def test_remux_delete_source_only_after_verification(media_hub: Hub, drive: Path) -> None:
    source = make_video(drive / "rec.mkv", duration=2)
    result = await call(media_hub, "remux", {"input": str(source), "format": "mp4", "delete_source": True})
    assert result["source_deleted"] is True and not source.exists()
    assert Path(result["output"]).suffix == ".mp4" and abs(duration_of(Path(result["output"])) - 2) < 0.2


async def test_remux_is_idempotent_by_output(media_hub: Hub, drive: Path) -> None:
    source = make_video(drive / "rec.mkv", duration=2)
    first = await call(media_hub, "remux", {"input": str(source)})
    mtime = os.stat(first["output"]).st_mtime_ns
    second = await call(media_hub, "remux", {"input": str(source)})
    assert second["reused"] is True and os.stat(second["output"]).st_mtime_ns == mtime


async def test_dry_run_returns_the_command_and_touches_nothing(media_hub: Hub, drive: Path) -> None:
    source = make_video(drive / "rec.mkv", duration=2)
    before = sorted(p.name for p in drive.iterdir())
    plan = await call(media_hub, "remux", {"input": str(source)}, dry_run=True)
    assert plan["dry_run"] is True and plan["output"] == str(drive / "rec.mov")
    argv = plan["command"]
    assert argv[0] == "ffmpeg" and ["-fflags", "+genpts"] == argv[1:3]
    for flag in (["-map", "0"], ["-c", "copy"], ["-movflags", "+faststart"]):
        assert any(argv[i : i + 2] == flag for i in range(len(argv)))
    assert sorted(p.name for p in drive.iterdir()) == before


async def test_wait_false_returns_a_job_id(media_hub: Hub, drive: Path) -> None:
    from streamops.jobs import JOBS

    source = make_video(drive / "rec.mkv", duration=1)
    result = await call(media_hub, "remux", {"input": str(source), "wait": False})
    assert set(result) == {"job_id", "status", "output"}
    row = await media_hub.data[JOBS].wait(result["job_id"], timeout=30)
    assert row["status"] == "done" and row["result"]["output"] == str(drive / "rec.mov")


async def test_proxy_dnxhr_never_upscales(media_hub: Hub, drive: Path) -> None:
    source = make_video(drive / "small.mkv", duration=2, size="320x240", audio_tracks=2)
    result = await call(media_hub, "proxy", {"input": str(source)})
    out = Path(result["output"])
    assert out == drive / "Proxies" / "small_proxy.mov"
    streams = ffprobe(out)["streams"]
    video = streams[0]
    assert (video["codec_name"], video["width"], video["height"]) == ("dnxhd", 320, 240)
    assert video.get("profile", "").startswith("DNXHR LB")
    assert [s["codec_name"] for s in streams[1:]] == ["pcm_s16le", "pcm_s16le"]


async def test_proxy_h264_scales_down_keeping_aspect(media_hub: Hub, drive: Path) -> None:
    source = make_video(drive / "big.mkv", duration=2, size="640x480")
    result = await call(media_hub, "proxy", {"input": str(source), "codec": "h264", "max_height": 240})
    video = video_stream(Path(result["output"]))
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 320, 240)


async def test_thumbnail_sprite_hover_waveform(media_hub: Hub, drive: Path, tmp_path: Path) -> None:
    source = make_video(drive / "rec.mkv", duration=10, size="320x240")
    poster = await call(media_hub, "thumbnail", {"input": str(source)})
    assert Path(poster["output"]).parent.parent == tmp_path / "data" / "thumbs"
    assert video_stream(Path(poster["output"]))["codec_name"] == "mjpeg" and abs(poster["time"] - 1.0) < 0.05

    sprite = await call(
        media_hub,
        "sprite",
        {"input": str(source), "interval": 2, "columns": 3, "tile_width": 80, "keyframes_only": False},
    )
    index = json.loads(Path(sprite["index"]).read_text())
    assert index["count"] == 5 and (index["columns"], index["rows"]) == (3, 2)
    sheet = video_stream(Path(sprite["output"]))
    assert (sheet["width"], sheet["height"]) == (3 * 80, 2 * 60)
    assert index["cells"][4] == {"index": 4, "time": 8.0, "x": 80, "y": 60, "w": 80, "h": 60}
    vtt = Path(sprite["vtt"]).read_text()
    assert vtt.startswith("WEBVTT") and "sprite.jpg#xywh=80,60,80,60" in vtt

    hover = await call(media_hub, "hover", {"input": str(source)})
    video = video_stream(Path(hover["output"]))
    assert (video["codec_name"], video["height"]) == ("h264", 240)  # 360p target, never upscaled
    assert abs(duration_of(Path(hover["output"])) - 6.0) < 0.2
    assert len(ffprobe(Path(hover["output"]))["streams"]) == 1
    assert len(keyframes(Path(hover["output"]))) >= 20  # a keyframe every 6 frames

    wave = await call(media_hub, "waveform", {"input": str(source), "buckets": 100})
    data = json.loads(Path(wave["output"]).read_text())
    assert data["buckets"] == 100 and len(data["peaks"]) == 100 and len(data["rms"]) == 100
    assert (
        all(-1 <= lo <= hi <= 1 for lo, hi in data["peaks"]) and max(data["rms"]) > 0.05
    )  # sine at 1/8 amplitude: RMS 0.088


async def test_transcode_presets_pick_a_working_encoder(media_hub: Hub, drive: Path) -> None:
    source = make_video(drive / "rec.mkv", duration=1, size="320x240")
    result = await call(media_hub, "transcode", {"input": str(source), "preset": "hevc"})
    assert result["encoder"] in ("hevc_nvenc", "hevc_qsv", "libx265")
    assert video_stream(Path(result["output"]))["codec_name"] == "hevc"
    av1 = await call(media_hub, "transcode", {"input": str(source), "preset": "av1", "output": str(drive / "a.mp4")})
    assert video_stream(Path(av1["output"]))["codec_name"] == "av1"


async def test_scene_cuts_found_at_known_times(media_hub: Hub, drive: Path) -> None:
    source = make_cuts_video(drive / "cuts.mkv", ["red", "blue", "green", "white"], seconds=2.0, rate=25)
    result = await call(media_hub, "scenes", {"input": str(source)})
    assert len(result["cuts"]) == 3
    for found, expected in zip(result["cuts"], [2.0, 4.0, 6.0], strict=True):
        assert abs(found - expected) <= 1 / 25 + 1e-6
    assert result["scenes"][0] == [0.0, result["cuts"][0]]


async def test_audio_peaks_become_scored_candidates(media_hub: Hub, drive: Path) -> None:
    source = make_loud_bursts_video(drive / "loud.mkv", duration=30, bursts=[8.0, 21.0])
    result = await call(media_hub, "scenes", {"input": str(source), "pre": 5, "post": 3})
    peaks = [p["time"] for p in result["audio_peaks"]]
    assert len(peaks) == 2 and abs(peaks[0] - 8.25) <= 0.5 and abs(peaks[1] - 21.25) <= 0.5
    first = result["candidates"][0]
    assert 0 < first["score"] <= 1 and first["end"] - first["start"] <= 8.5


async def test_lossless_clip_snaps_to_keyframes(media_hub: Hub, drive: Path) -> None:
    source = make_video(drive / "rec.mkv", duration=10, gop=50, rate=25)  # keyframes every 2 s
    result = await call(media_hub, "clip", {"input": str(source), "start": 3.1, "end": 6.5})
    start_time = float(ffprobe(source)["format"]["start_time"])
    frames = [round(k - start_time, 6) for k in keyframes(source)]
    # The keyframe at/before 3.1 s and the one at/after 6.5 s (about 2 s and 8 s).
    expected = (max(k for k in frames if k <= 3.1), min(k for k in frames if k >= 6.5))
    assert (result["start"], result["end"]) == expected
    assert abs(expected[0] - 2.0) < 0.1 and abs(expected[1] - 8.0) < 0.1
    out = Path(result["output"])
    assert first_frame_is_keyframe(out)
    assert abs(duration_of(out) - (expected[1] - expected[0])) < 0.15


async def test_accurate_clip_is_exact(media_hub: Hub, drive: Path) -> None:
    source = make_video(drive / "rec.mkv", duration=10, gop=50, rate=25)
    result = await call(media_hub, "clip", {"input": str(source), "start": 3.2, "end": 5.2, "accurate": True})
    assert (result["start"], result["end"]) == (3.2, 5.2)
    assert abs(duration_of(Path(result["output"])) - 2.0) < 0.1


async def test_social_export_with_captions_and_hostile_names(media_hub: Hub, drive: Path) -> None:
    folder = drive / "it's $(rm -rf ~) [a],b;c ü"
    folder.mkdir()
    source = make_video(folder / "my 'rec' $(touch x).mkv", duration=4, size="640x360")
    srt = folder / "cap's: [1],2;3.srt"
    srt.write_text("1\n00:00:00,200 --> 00:00:03,000\nHello\n", encoding="utf-8")
    result = await call(
        media_hub,
        "social_export",
        {"input": str(source), "captions": str(srt), "height": 640, "hud_margins": {"top": 0.1}},
    )
    video = video_stream(Path(result["output"]))
    assert (video["width"], video["height"]) == (360, 640)
    assert abs(duration_of(Path(result["output"])) - 4.0) < 0.2
    square = await call(
        media_hub, "social_export", {"input": str(source), "aspect": "1:1", "start": 1, "end": 3, "height": 360}
    )
    video = video_stream(Path(square["output"]))
    assert (video["width"], video["height"]) == (360, 360)
    assert not (folder / "x").exists() and not Path("x").exists()


async def test_corrupt_input_is_a_clear_error_and_untouched(media_hub: Hub, drive: Path) -> None:
    source = make_corrupt(drive / "broken.mkv")
    before = source.read_bytes()
    with pytest.raises(ServiceError, match=r"broken\.mkv is not readable media"):
        await call(media_hub, "remux", {"input": str(source)})
    assert source.read_bytes() == before and temporaries(drive) == []
    assert not (drive / "broken.mov").exists()


async def test_outside_drives_is_refused(media_hub: Hub, drive: Path, tmp_path: Path) -> None:
    source = make_video(drive / "rec.mkv", duration=1)
    with pytest.raises(ServiceError, match=r"output /etc/evil\.mov is outside the configured drives"):
        await call(media_hub, "remux", {"input": str(source), "output": "/etc/evil.mov"})
    outside = make_video(tmp_path / "outside.mkv", duration=1)
    with pytest.raises(ServiceError, match=r"input .*outside\.mkv is outside the configured drives"):
        await call(media_hub, "remux", {"input": str(outside)})


async def test_missing_ffmpeg_is_a_clear_job_error(
    media_hub: Hub, drive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_video(drive / "rec.mkv", duration=1)
    only_probe = tmp_path / "bin"
    only_probe.mkdir()
    (only_probe / "ffprobe").symlink_to("/usr/bin/ffprobe")
    monkeypatch.setenv("PATH", str(only_probe))
    with pytest.raises(ServiceError, match="ffmpeg not found on PATH"):
        await call(media_hub, "remux", {"input": str(source)})
    assert source.exists() and temporaries(drive) == []


@pytest.fixture
def tiny_drive(tmp_path: Path):  # type: ignore[no-untyped-def]
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_full_destination_is_a_clear_error_and_nothing_lost(
    media_hub: Hub, drive: Path, tiny_drive: Path
) -> None:
    media_hub.config.allowed_dirs.append(tiny_drive)
    source = make_video(drive / "rec.mkv", duration=4, size="640x480", extra=["-b:v", "8M"])
    assert source.stat().st_size > 1_500_000
    before = source.read_bytes()
    with pytest.raises(ServiceError, match="not enough free space"):
        await call(media_hub, "remux", {"input": str(source), "output": str(tiny_drive / "rec.mov")})
    assert source.read_bytes() == before
    assert list(tiny_drive.iterdir()) == []
