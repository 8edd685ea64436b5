"""Content hashes: xxh64 always (fast enough to hash every recording), SHA-256 on request.

Streaming with one reusable 1 MiB buffer (`readinto`, no per-chunk allocation), on a worker thread so
the event loop never waits on disk. 1 MiB stays in the CPU cache between the copy out of the page
cache and the hash; an 8 MiB buffer measured about half as fast (benchmarks/bench_hashing.py).
hashlib releases the GIL on large buffers, so several files hash in parallel.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable

import xxhash

BUFFER_SIZE = 1024 * 1024


class HashCanceled(Exception):
    """The `stop` event was set while hashing (a canceled job)."""


def hash_file(
    path: str | os.PathLike[str],
    sha256: bool = False,
    buffer_size: int = BUFFER_SIZE,
    *,
    on_bytes: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> tuple[str, str | None]:
    """(xxh64 hex, sha256 hex or None) of a file's content. Blocking: use `asyncio.to_thread`.

    The asset index and the verified file moves share this, so "same file" means the same thing in
    both; `on_bytes` reports progress and `stop` cancels between chunks.
    """
    xx = xxhash.xxh64()
    sha = hashlib.sha256() if sha256 else None
    buffer = bytearray(buffer_size)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while True:
            count = handle.readinto(buffer)
            if not count:
                break
            if stop is not None and stop.is_set():
                raise HashCanceled(str(path))
            chunk = view[:count]
            xx.update(chunk)
            if on_bytes is not None:
                on_bytes(count)
            if sha is not None:
                sha.update(chunk)
    return xx.hexdigest(), sha.hexdigest() if sha is not None else None
