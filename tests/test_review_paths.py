"""Review: paths a service is given or writes must never reach outside the configured drives.

Each test here failed before its fix: a NUL byte in a path escaped as a bare ValueError instead of a
clear "path" error, and temporaries written beside a recording followed a symlink planted at their
name, so a file outside the drives was overwritten with StreamOps' JSON.
"""

# ruff: noqa: ASYNC240 - tests read small files they just wrote

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_media import setup_media_hub
from media_fixtures import make_video

from streamops.core import Hub, ServiceError

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def files_hub(db_hub: Hub, tmp_path: Path) -> Hub:
    drive = tmp_path / "drive"
    drive.mkdir()
    return await setup_media_hub(db_hub, [drive])


@pytest.mark.parametrize("field", ["source", "destination"])
async def test_nul_byte_in_path_is_a_clear_service_error(files_hub: Hub, tmp_path: Path, field: str) -> None:
    drive = tmp_path / "drive"
    source = drive / "a.mkv"
    source.write_bytes(b"x" * 100)
    data = {"source": str(source), "destination": f"{drive}/out/"}
    data[field] = f"{drive}/b\x00ad.mkv" if field == "source" else f"{drive}/out\x00/"
    with pytest.raises(ServiceError, match="NUL"):
        await files_hub.services.async_call("files", "copy", data, return_response=True)
    assert source.read_bytes() == b"x" * 100


async def test_sidecar_temporary_does_not_follow_a_planted_symlink(files_hub: Hub, tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    media = make_video(drive / "rec.mkv", duration=1.0)
    victim = tmp_path / "outside.txt"
    victim.write_text("precious")
    (drive / ".rec.mkv.streamops-tmp.json").symlink_to(victim)
    result = await files_hub.services.async_call("files", "write_sidecar", {"path": str(media)}, return_response=True)
    assert victim.read_text() == "precious"
    sidecar = Path(result["output"])
    assert not sidecar.is_symlink() and '"version": 1' in sidecar.read_text()


async def test_move_journal_temporary_does_not_follow_a_planted_symlink(files_hub: Hub, tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    source = drive / "clip.mkv"
    source.write_bytes(b"y" * 4096)
    (drive / "out").mkdir()
    victim = tmp_path / "outside.txt"
    victim.write_text("precious")
    (drive / "out" / ".clip.mkv.streamops-move.json.tmp").symlink_to(victim)
    result = await files_hub.services.async_call(
        "files", "copy", {"source": str(source), "destination": f"{drive}/out/"}, return_response=True
    )
    assert victim.read_text() == "precious"
    assert Path(result["output"]).read_bytes() == b"y" * 4096
    assert source.exists()


async def test_copy_temporary_does_not_follow_a_planted_symlink(tmp_path: Path) -> None:
    """The copy's temporary is created exclusively: a link appearing at its name is an error, not a target."""
    import threading

    from streamops.files.transfer import copy_hashing

    source = tmp_path / "src.bin"
    source.write_bytes(b"z" * 1000)
    victim = tmp_path / "outside.txt"
    victim.write_text("precious")
    temp = tmp_path / ".dst.streamops-tmp.bin"
    temp.symlink_to(victim)
    with pytest.raises(FileExistsError):
        copy_hashing(source, temp, lambda n: None, threading.Event(), lambda: False)
    assert victim.read_text() == "precious"


async def test_archive_does_not_copy_symlinked_files_from_outside_the_drives(files_hub: Hub, tmp_path: Path) -> None:
    import zipfile

    drive = tmp_path / "drive"
    folder = drive / "session"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY")
    (folder / "innocent.txt").symlink_to(secret)
    victim = tmp_path / "outside.zip"
    victim.write_text("precious")
    (drive / ".session.streamops-tmp.zip").symlink_to(victim)
    result = await files_hub.services.async_call(
        "files", "archive", {"source": str(folder), "destination": f"{drive}/"}, return_response=True
    )
    with zipfile.ZipFile(result["output"]) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    assert contents == {"session/notes.txt": b"mine"}
    assert victim.read_text() == "precious"
