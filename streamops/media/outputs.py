"""The temp → verify → atomic rename convention every media output follows.

An output is written to `.<stem>.streamops-tmp<suffix>` beside its destination (same directory, so
the final rename is atomic and never crosses a filesystem), probed (stream count, duration within
tolerance), and only then renamed to its final name. A crash leaves at most a temporary with a
recognisable name, which the job type's `cleanup` removes; a final name therefore always holds a
complete, verified file — which is what lets `already_done` trust it after a restart.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from ..jobs.model import JobError
from .probe import MediaInfo, ProbeError, expected_duration_tolerance, probe

TEMP_MARK = ".streamops-tmp"


class VerificationError(JobError):
    """An output that is incomplete or not what was asked for; it is never kept."""


def temp_path_for(final: str | os.PathLike[str]) -> Path:
    """`/d/rec.mov` → `/d/.rec.streamops-tmp.mov` (suffix kept: ffmpeg and players pick the format by it)."""
    final = Path(final)
    return final.with_name(f".{final.stem}{TEMP_MARK}{final.suffix}")


def is_temp_path(path: str | os.PathLike[str]) -> bool:
    return TEMP_MARK in Path(path).name


def remove_quietly(*paths: str | os.PathLike[str] | None) -> None:
    for path in paths:
        if path is None:
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def fsync_path(path: str | os.PathLike[str], directory: bool = False) -> None:
    """Flush a file (or a directory entry) to disk; filesystems that cannot are not an error."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


async def verify_media(
    path: str | os.PathLike[str],
    *,
    streams: int | None = None,
    duration: float | None = None,
    tolerance: float | None = None,
    what: str = "output",
) -> MediaInfo:
    """Probe an output and check it against what was expected; raise VerificationError otherwise."""
    try:
        info = await probe(path)
    except ProbeError as err:
        raise VerificationError(f"{what} failed verification: {err}") from err
    if streams is not None and len(info.streams) != streams:
        raise VerificationError(f"{what} {path} failed verification: {len(info.streams)} stream(s), expected {streams}")
    if duration is not None and duration > 0:
        allowed = tolerance if tolerance is not None else expected_duration_tolerance(duration, info.fps)
        if abs(info.duration - duration) > allowed:
            raise VerificationError(
                f"{what} {path} failed verification: duration {info.duration:.3f} s, expected "
                f"{duration:.3f} s ± {allowed:.2f} s (truncated or incomplete)"
            )
    return info


def commit(
    temp: str | os.PathLike[str], final: str | os.PathLike[str], *, overwrite: bool = False, durable: bool = True
) -> None:
    """Atomically give a finished temporary its final name.

    Without `overwrite` an existing final file is never replaced: a hard link (which fails when the
    name exists) then an unlink of the temporary; filesystems without hard links fall back to a
    checked rename.
    """
    temp, final = Path(temp), Path(final)
    if durable:
        # Derived outputs whose source stays need no fsync: after a power cut, `already_done`
        # re-verifies them with ffprobe and a damaged one is simply made again. It costs about as
        # much as the remux itself (benchmarks/bench_remux.py), so callers that keep the source skip it.
        fsync_path(temp)
    if overwrite:
        os.replace(temp, final)
    else:
        try:
            os.link(temp, final)
        except FileExistsError:
            raise JobError(f"{final} appeared while the job ran; not overwriting it", retry=False) from None
        except OSError as err:
            if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if final.exists():
                raise JobError(f"{final} appeared while the job ran; not overwriting it", retry=False) from None
            os.rename(temp, final)
        else:
            os.unlink(temp)
    if durable:
        fsync_path(final.parent, directory=True)


def cleanup_temporaries(*finals: str | os.PathLike[str] | None) -> list[str]:
    """Remove the temporaries of these final paths (crash leftovers); returns what was removed."""
    removed = []
    for final in finals:
        if not final:
            continue
        temp = temp_path_for(final)
        if temp.exists():
            remove_quietly(temp)
            removed.append(str(temp))
    return removed


def check_free_space(directory: str | os.PathLike[str], needed: int, what: str = "output") -> None:
    """Refuse to start a job whose output cannot fit (with 1 % / 64 MiB headroom)."""
    directory = Path(directory)
    try:
        free = os_free_bytes(directory)
    except OSError as err:
        raise JobError(f"cannot check free space on {directory}: {err.strerror or err}", retry=False) from None
    margin = min(64 << 20, max(1 << 20, needed // 100))
    if free < needed + margin:
        raise JobError(
            f"not enough free space in {directory} for the {what}: needs about {_mb(needed + margin)}, "
            f"{_mb(free)} free",
            retry=False,
        )


def os_free_bytes(directory: Path) -> int:
    stat = os.statvfs(directory)
    return stat.f_bavail * stat.f_frsize


def _mb(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"
