"""drives.probe is a "test this path" check: it must answer for odd paths, never hang or raise."""

from __future__ import annotations

import os
from pathlib import Path

from integrations.drives.probe import probe_path


def test_probe_of_a_fifo_answers_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = probe_path(str(fifo))  # opening a FIFO with no writer would block forever
    assert result["exists"] and result["error"] == "not a regular file or folder" and not result["readable"]


def test_probe_of_a_nul_path_is_an_answer_not_an_exception(tmp_path: Path) -> None:
    result = probe_path(f"{tmp_path}/a\x00b")
    assert result["exists"] is False and result["error"]


def test_probe_of_a_folder_reports_read_write_and_space(tmp_path: Path) -> None:
    result = probe_path(str(tmp_path))
    assert result["readable"] and result["writable"] and result["free_bytes"] > 0
    assert not any(p.name.startswith(".streamops-probe-") for p in tmp_path.iterdir())
