"""Backup and restore as a user meets them: a running hub backs up through the API, the data folder is
wiped, `streamops restore` (a real process) brings back the same automations, assets and states;
bad backups are refused before anything is replaced; the previous state is kept as a safety copy."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streamops.api import HTTP, create_token
from streamops.backup.archive import FORMAT_VERSION, locations_for
from streamops.backup.restore import RestoreError, apply_pending, stage_restore, validate_backup
from streamops.bootstrap import async_setup_hub
from streamops.cli import main as cli_main
from streamops.core import Hub
from streamops.recorder import DATABASE, RECORDER
from tests.media_fixtures import make_video

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(120)

AUTOMATIONS = """\
- id: backup_test_marker
  alias: Marker on event
  triggers:
    - trigger: event
      event_type: backup_test
  actions:
    - event: backup_test_done
"""


def _write_config(config_dir: Path, drive: Path, automations: str = AUTOMATIONS) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "configuration.yaml").write_text(
        "http:\n  server_port: 0\n"
        f"drives:\n  media:\n    path: {drive}\n    watch: []\n"
        "jobs: {}\nassets: {}\noverlays:\n  directory: overlays\n"
        "automation: !include automations.yaml\n",
        encoding="utf-8",
    )
    (config_dir / "automations.yaml").write_text(automations, encoding="utf-8")
    shutil.copytree(ROOT / "config" / "overlays", config_dir / "overlays", dirs_exist_ok=True)


@asynccontextmanager
async def running_hub(config_dir: Path, data_dir: Path) -> AsyncIterator[Hub]:
    hub = await async_setup_hub(config_dir, data_dir, {})
    try:
        assert not hub.config.errors, hub.config.errors
        yield hub
    finally:
        await hub.async_stop()


def _snapshot(hub: Hub) -> dict[str, Any]:
    return {
        "automations": sorted(s.entity_id for s in hub.states.async_all("automation")),
        "marker": hub.states.get("input_text.backup_marker"),
    }


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamops", *args, "--data", str(data_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "STREAMOPS_DATA": str(data_dir)},
        timeout=90,
    )


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return [tuple(r) for r in conn.execute(sql)]


async def test_api_backup_then_wipe_then_cli_restore_gives_back_automations_assets_states(tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    drive.mkdir()
    clip = make_video(drive / "clip.mp4", duration=1.0)
    config_dir, data_dir = tmp_path / "data" / "config", tmp_path / "data"
    _write_config(config_dir, drive)

    async with running_hub(config_dir, data_dir) as hub:
        indexed = await hub.services.async_call("assets", "index", {"path": str(clip)}, return_response=True)
        assert indexed
        hub.states.async_set("input_text.backup_marker", "before-backup", {"note": "survives"})
        await hub.async_block_till_done()
        db = hub.data[DATABASE]
        token = await create_token(db, "backup-test")
        before = _snapshot(hub)
        assert "automation.backup_test_marker" in before["automations"]
        url = hub.data[HTTP].url
        await hub.data[RECORDER].flush()  # the state is in SQLite before the backup copies it
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.post(f"{url}/api/backup", json={"label": "test"}) as resp:
                assert resp.status == 201, await resp.text()
                name = (await resp.json())["name"]
            async with session.get(f"{url}/api/backups") as resp:
                listed = await resp.json()
                assert [b["name"] for b in listed["backups"]] == [name]
                assert listed["backups"][0]["version"] and listed["pending_restore"] is None
            async with session.get(f"{url}/api/backups/{name}") as resp:
                assert resp.status == 200 and resp.headers["Content-Type"] == "application/zip"
                downloaded = await resp.read()
            async with session.get(f"{url}/api/backups/..%2Fdb%2Fstreamops.db") as resp:
                assert resp.status == 404
            async with aiohttp.ClientSession() as anonymous:
                async with anonymous.get(f"{url}/api/backups/{name}") as resp:
                    assert resp.status == 401
        # Changes after the backup are what the restore must undo.
        hub.states.async_set("input_text.backup_marker", "after-backup")
        assets_before = _rows(db.path, "SELECT path, size FROM so_assets ORDER BY path")

    backup = data_dir / "backup" / name
    assert backup.read_bytes() == downloaded
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    with zipfile.ZipFile(backup) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        names = set(zf.namelist())
    assert manifest["format"] == FORMAT_VERSION and manifest["hub_running"] is True
    assert manifest["database"]["counts"]["so_assets"] == 1
    assert {"config/configuration.yaml", "config/automations.yaml", "db/streamops.db"} <= names
    assert "config/overlays/demo_sponsors/manifest.yaml" in names and "data/overlays/key_secret" in names

    # Wipe everything but the zip (kept elsewhere by the user).
    kept = tmp_path / name
    shutil.copy(backup, kept)
    shutil.rmtree(data_dir)
    result = run_cli("restore", str(kept), data_dir=data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Restored" in result.stdout

    async with running_hub(config_dir, data_dir) as hub:
        after = _snapshot(hub)
        assert after["automations"] == before["automations"]
        marker = after["marker"]
        assert marker is not None and marker.state == "before-backup" and marker.attributes["note"] == "survives"
        assert _rows(hub.data[DATABASE].path, "SELECT path, size FROM so_assets ORDER BY path") == assets_before
        found = await hub.services.async_call("assets", "search", {"q": "cli"}, return_response=True)
        assert [a["path"] for a in found["items"]] == [str(clip)]
        assert (config_dir / "overlays" / "demo_sponsors" / "manifest.yaml").is_file()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder a hub has run on, with one backup made by the CLI code (built once per module)."""
    root = tmp_path_factory.mktemp("template")
    drive = root / "drive"
    drive.mkdir()
    data_dir = root / "data"
    _write_config(data_dir / "config", drive)

    async def run_once() -> None:
        async with running_hub(data_dir / "config", data_dir) as hub:
            hub.states.async_set("input_text.backup_marker", "v1")
            await hub.data[RECORDER].flush()

    asyncio.run(run_once())
    assert cli_main(["backup", "--data", str(data_dir)]) == 0
    return root


@pytest.fixture
def good_backup(template: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """(zip, config_dir, data_dir): a fresh copy of the template for each test."""
    shutil.copytree(template, tmp_path, dirs_exist_ok=True)
    data_dir = tmp_path / "data"
    config = (data_dir / "config" / "configuration.yaml").read_text().replace(str(template), str(tmp_path))
    (data_dir / "config" / "configuration.yaml").write_text(config)
    (good,) = (data_dir / "backup").glob("streamops-backup-*.zip")
    return good, data_dir / "config", data_dir


def _rewrite(source: Path, target: Path, replace: dict[str, bytes | None]) -> Path:
    """A copy of the zip with members replaced (None: removed) or added."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            if info.filename in replace:
                continue
            zout.writestr(info, zin.read(info.filename))
        for member, data in replace.items():
            if data is not None:
                zout.writestr(member, data)
    return target


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _corrupt_db(good: Path) -> bytes:
    with zipfile.ZipFile(good) as zf:
        data = bytearray(zf.read("db/streamops.db"))
    page = 4096
    # Scribble over the b-tree pages after the schema page: the header stays readable, the tree does not.
    for offset in range(page * 2, min(len(data), page * 12), page):
        data[offset : offset + 64] = b"\xff" * 64
    return bytes(data)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("not_zip", "not a zip file"),
        ("no_manifest", "no manifest.json"),
        ("future_format", "upgrade StreamOps first"),
        ("zip_slip", "unsafe member name"),
        ("no_database", "missing db/streamops.db"),
        ("corrupt_database", "integrity_check|not a usable SQLite"),
        ("bad_config", r"configuration\.yaml:2: .*server_prot"),
    ],
)
def test_invalid_backups_are_refused_and_nothing_changes(
    good_backup: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, expected: str
) -> None:
    good, config_dir, data_dir = good_backup
    with zipfile.ZipFile(good) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    bad = tmp_path / f"{case}.zip"
    if case == "not_zip":
        bad.write_bytes(b"PK but not really a zip" * 10)
    elif case == "no_manifest":
        _rewrite(good, bad, {"manifest.json": None})
    elif case == "future_format":
        _rewrite(good, bad, {"manifest.json": json.dumps({**manifest, "format": FORMAT_VERSION + 1}).encode()})
    elif case == "zip_slip":
        _rewrite(good, bad, {"config/../../evil.txt": b"x"})
    elif case == "no_database":
        _rewrite(good, bad, {"db/streamops.db": None})
    elif case == "corrupt_database":
        _rewrite(good, bad, {"db/streamops.db": _corrupt_db(good)})
    elif case == "bad_config":
        _rewrite(good, bad, {"config/configuration.yaml": b"http:\n  server_prot: 1\n"})
    before_config = _tree(config_dir)
    before_db = (data_dir / "db" / "streamops.db").read_bytes()
    assert cli_main(["restore", str(bad), "--data", str(data_dir)]) == 1  # the CLI's code, in-process
    stderr = capsys.readouterr().err
    assert "nothing was changed" in stderr
    assert re.search(expected, stderr), stderr
    assert _tree(config_dir) == before_config
    assert (data_dir / "db" / "streamops.db").read_bytes() == before_db
    assert not (tmp_path / "evil.txt").exists() and not (data_dir / "evil.txt").exists()
    assert not [p for p in (data_dir / "backup").iterdir() if p.name.startswith(".restore-")]
    assert not list((data_dir / "backup").glob("streamops-pre-restore-*"))


def test_restore_keeps_previous_state_as_a_restorable_safety_copy(
    good_backup: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    good, config_dir, data_dir = good_backup
    (config_dir / "automations.yaml").write_text(AUTOMATIONS.replace("backup_test_marker", "changed_later"))
    assert cli_main(["restore", str(good), "--data", str(data_dir)]) == 0
    assert "backup_test_marker" in (config_dir / "automations.yaml").read_text()
    safety = list((data_dir / "backup").glob("streamops-pre-restore-*.zip"))
    assert len(safety) == 1 and safety[0].name in capsys.readouterr().out
    assert cli_main(["restore", safety[0].name, "--data", str(data_dir)]) == 0  # a name in <data>/backup works
    assert "changed_later" in (config_dir / "automations.yaml").read_text()


async def test_cli_restore_refuses_while_a_hub_has_the_database_open(good_backup: tuple[Path, Path, Path]) -> None:
    good, config_dir, data_dir = good_backup
    before = (config_dir / "automations.yaml").read_text()
    async with running_hub(config_dir, data_dir) as hub:
        result = await asyncio.to_thread(run_cli, "restore", str(good), data_dir=data_dir)
        assert hub.data[DATABASE].path.is_file()
    assert result.returncode == 1
    assert "is open in pid" in result.stderr and "stop it first" in result.stderr
    assert (config_dir / "automations.yaml").read_text() == before


async def test_api_restore_validates_stages_and_says_restart_is_needed(good_backup: tuple[Path, Path, Path]) -> None:
    good, config_dir, data_dir = good_backup
    bad = _rewrite(good, data_dir / "backup" / "broken.zip", {"manifest.json": None})
    (config_dir / "automations.yaml").write_text("[]\n")
    async with running_hub(config_dir, data_dir) as hub:
        token = await create_token(hub.data[DATABASE], "t")
        url = hub.data[HTTP].url
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
            async with session.post(f"{url}/api/restore", json={"name": bad.name}) as resp:
                assert resp.status == 400
                body = await resp.json()
                assert body["code"] == "invalid_backup" and "no manifest.json" in body["message"]
            async with session.post(f"{url}/api/restore", json={"name": "missing.zip"}) as resp:
                assert resp.status == 404
            async with session.post(f"{url}/api/restore", json={}) as resp:
                assert resp.status == 400
            async with session.post(f"{url}/api/restore", json={"name": good.name}) as resp:
                assert resp.status == 202
                body = await resp.json()
        assert body["restart_required"] is True and "Restart StreamOps" in body["message"]
        assert (config_dir / "automations.yaml").read_text() == "[]\n"  # nothing replaced under the hub
    # Next start (the container's entrypoint runs `streamops restore --pending` before the hub).
    assert cli_main(["restore", "--pending", "--data", str(data_dir)]) == 0
    assert "backup_test_marker" in (config_dir / "automations.yaml").read_text()
    assert not (data_dir / "backup" / "pending-restore.json").exists()
    assert cli_main(["restore", "--pending", "--data", str(data_dir)]) == 0


def test_staged_restore_of_a_file_that_went_bad_applies_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    where = locations_for(data_dir)
    where.backup_dir.mkdir(parents=True)
    (where.backup_dir / "pending-restore.json").write_text(json.dumps({"file": "gone.zip"}))
    with pytest.raises(RestoreError, match="names no backup file"):
        apply_pending(where)
    assert not (where.backup_dir / "pending-restore.json").exists()  # never blocks every start
    with pytest.raises(RestoreError, match="must be a file in"):
        stage_restore(where, tmp_path / "elsewhere.zip")
    with pytest.raises(RestoreError, match="no such file"):
        validate_backup(tmp_path / "nope.zip", tmp_path)


async def test_online_backup_is_consistent_while_the_hub_writes(tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    drive.mkdir()
    data_dir = tmp_path / "data"
    _write_config(data_dir / "config", drive)
    async with running_hub(data_dir / "config", data_dir) as hub:
        db = hub.data[DATABASE]
        await db.execute("CREATE TABLE t_backup_probe (n INTEGER NOT NULL, pad TEXT NOT NULL)")
        stop = asyncio.Event()

        async def writer() -> int:
            n = 0
            while not stop.is_set():
                async with db.transaction() as conn:  # two rows per transaction: a torn copy shows an odd count
                    await conn.execute("INSERT INTO t_backup_probe VALUES (?, ?)", (n, "x" * 2000))
                    await conn.execute("INSERT INTO t_backup_probe VALUES (?, ?)", (n, "y" * 2000))
                n += 1
                await asyncio.sleep(0)
            return n

        task = asyncio.create_task(writer())
        try:
            from streamops.backup import locations_of
            from streamops.backup.archive import create_backup

            paths = [await asyncio.to_thread(create_backup, locations_of(hub), label=str(i)) for i in range(3)]
        finally:
            stop.set()
            written = await task
    assert written > 0
    for path in paths:
        validated = validate_backup(path, tmp_path / "check")
        with closing(sqlite3.connect(validated.db_file)) as conn:
            (count,) = conn.execute("SELECT COUNT(*) FROM t_backup_probe").fetchone()
        assert count % 2 == 0
        validated.cleanup()
