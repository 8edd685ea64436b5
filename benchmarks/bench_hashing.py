"""Hashing throughput: streaming xxh64 (and xxh64 + SHA-256) vs plain buffered reads of the same file.

The baseline is the cheapest way to touch every byte: `open(path, "rb")` and `read(1 MiB)` until
EOF, measured in the same run on the same (page-cached) file. A ratio near 1.0 means xxh64 costs
about as much as reading the file; the disk, not the hash, is what a real index waits on.
Run: .venv/bin/python benchmarks/bench_hashing.py [--mib 512] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamops.helpers.hashing import hash_file


def plain_read(path: str) -> int:
    total = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            total += len(chunk)
    return total


def best_of(rounds: int, func, *args) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        func(*args)
        best = min(best, time.perf_counter() - start)
    return best


async def threaded(path: str, files: int) -> float:
    """`files` hashes at once on worker threads (what the index does), total seconds."""
    start = time.perf_counter()
    await asyncio.gather(*(asyncio.to_thread(hash_file, path) for _ in range(files)))
    return time.perf_counter() - start


def main(mib: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-hash-") as tmp:
        path = os.path.join(tmp, "data.bin")
        block = os.urandom(1024 * 1024)
        with open(path, "wb") as handle:
            for _ in range(mib):
                handle.write(block)
        size = mib * 1024 * 1024
        plain_read(path)  # warm the page cache so both sides read from memory
        gib = 1024**3
        read_s = best_of(rounds, plain_read, path)
        xx_s = best_of(rounds, hash_file, path)
        both_s = best_of(rounds, hash_file, path, True)
        par_s = asyncio.run(threaded(path, 2))
        print(f"file: {mib} MiB (page-cached), best of {rounds}")
        print(f"plain buffered read (1 MiB reads): {size / read_s / gib:6.2f} GiB/s")
        print(f"xxh64 streaming (1 MiB readinto):   {size / xx_s / gib:6.2f} GiB/s")
        print(f"xxh64 + sha256 in one pass:         {size / both_s / gib:6.2f} GiB/s")
        print(f"xxh64, 2 files on worker threads:   {2 * size / par_s / gib:6.2f} GiB/s aggregate")
        print(f"ratio xxh64 / plain read: {read_s / xx_s:.2f} (1.0 = hashing is as fast as reading)")
        print(f"ratio xxh64+sha256 / plain read: {read_s / both_s:.2f}")
        for buffer in (256 * 1024, 8 * 1024 * 1024):
            other = best_of(rounds, hash_file, path, False, buffer)
            print(f"  xxh64 with a {buffer // 1024} KiB buffer: {size / other / gib:6.2f} GiB/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    main(args.mib, args.rounds)
