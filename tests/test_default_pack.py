"""The shipped post-recording automation, simulated through the CLI with the real services."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from streamops.cli import main as cli_main


def test_default_pack_simulates_the_whole_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recordings, editing, config = tmp_path / "rec", tmp_path / "edit", tmp_path / "config"
    for folder in (recordings, editing, config):
        folder.mkdir()
    video = recordings / "Boss fight $(rm -rf) 'take 2'.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-f", "lavfi", "-i", "sine",
         "-t", "2", "-c:v", "libx264", "-c:a", "aac", str(video)],
        check=True,
    )  # fmt: skip
    (config / "configuration.yaml").write_text(
        f"automation: []\ndrives:\n  recordings:\n    path: {recordings}\n"
        f"  editing:\n    path: {editing}\n    watch: []\n"
    )
    code = cli_main(
        ["simulate", "post_recording", "--file", str(video), "-c", str(config), "--data", str(tmp_path / "d")]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    steps = [line.split()[1] for line in out.splitlines() if line.strip()[:2].rstrip(".").isdigit()]
    assert steps[:4] == ["media.remux", "files.move", "files.write_sidecar", "assets.index"], out
    assert {"media.thumbnail", "media.sprite", "media.hover", "media.waveform"} <= set(steps)
    assert "ERROR:" not in out, out
    # The move plans against the remux's output, into Editing/{Game}/{YYYY}/{MM}/{DD}/ on the editing drive.
    assert f"{editing}/Editing/Unknown/" in out and "+faststart" in out
    # A dry run touches nothing.
    assert [p.name for p in recordings.iterdir()] == [video.name] and not any(editing.iterdir())
