"""Cross-drive move with verification (copy while hashing → fsync → re-read xxh64 → rename → delete) vs `cp`.

Source on the disk, destination on a tmpfs mount (a second filesystem; needs root to mount), both
measured in the same run on the same page-cached file. `cp` neither fsyncs nor verifies, so it is
the floor; the ratio is what safety costs.
Run: .venv/bin/python benchmarks/bench_move.py [--mib 1024] [--rounds 3]
"""

# ruff: noqa: ASYNC221, ASYNC230 - a benchmark times blocking baselines (cp, bare ffmpeg) on purpose

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from helpers_media import setup_media_hub  # noqa: E402

from streamops.core import Hub  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-move-", dir="/var/tmp"))
    drive, ssd = work / "drive", work / "ssd"
    drive.mkdir()
    ssd.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={args.mib * 3}m", "tmpfs", str(ssd)]).returncode:
        sys.exit("needs root to mount a tmpfs as the second drive")
    hub = Hub(work, work)
    try:
        source = drive / "rec.mkv"
        block = os.urandom(1 << 20)
        with open(source, "wb") as handle:
            for i in range(args.mib):
                handle.write(i.to_bytes(8, "little") + block[8:])
        subprocess.run(["cat", str(source)], stdout=subprocess.DEVNULL, check=True)
        await setup_media_hub(hub, [drive, ssd])
        cp, mv = [], []
        for _ in range(args.rounds):
            started = time.perf_counter()
            subprocess.run(["cp", str(source), str(ssd / "copy.mkv")], check=True)
            cp.append(time.perf_counter() - started)
            os.unlink(ssd / "copy.mkv")
            started = time.perf_counter()
            result = await hub.services.async_call(
                "files", "move", {"source": str(source), "destination": f"{ssd}/"}, return_response=True
            )
            mv.append(time.perf_counter() - started)
            assert result and result["method"] == "copy+verify" and not source.exists()
            shutil.move(result["output"], source)  # put it back (untimed)
        m_cp, m_mv = statistics.median(cp), statistics.median(mv)
        size = args.mib * (1 << 20) / 1e6
        print(f"file: {size:.0f} MB, disk → tmpfs, {args.rounds} rounds, medians, warm page cache")
        print(f"cp                         {m_cp:6.2f} s  {size / m_cp:6.0f} MB/s")
        print(
            f"files.move (copy+xxh64+fsync+verify+rename+delete) {m_mv:6.2f} s  {size / m_mv:6.0f} MB/s  "
            f"ratio vs cp: {m_mv / m_cp:.2f}x"
        )
    finally:
        await hub.async_stop()
        subprocess.run(["umount", "-l", str(ssd)], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
