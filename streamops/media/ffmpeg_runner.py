"""The supervised ffmpeg process: progress, a stall watchdog, a stderr ring buffer, clean kills.

Follows Frigate's standard: stdin closed, its own session (so pause/cancel signal the whole group
and Ctrl-C in the hub's terminal does not reach it), stderr kept in a ring buffer and logged when it
dies, terminate → wait → kill. `-progress` output is parsed into percent, speed and ETA; a process
that stops making progress for `stall_timeout` seconds (time spent paused does not count) is killed
and the job fails with ffmpeg's last words, so a hung ffmpeg can never block the queue ("stuck at
99 %" is the trap other tools fell into).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import shutil
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..jobs.model import JobError

_LOGGER = logging.getLogger(__name__)

STDERR_LINES = 50
DEFAULT_STALL_TIMEOUT = 60.0
TERMINATE_GRACE = 5.0
SUPERVISION_ARGS = ("-hide_banner", "-nostdin", "-nostats")


class RunnerContext(Protocol):
    """The part of streamops.jobs.JobContext the runner uses (tests pass a small stand-in)."""

    job_id: Any

    def progress(
        self, percent: float | None, *, speed: float | None = None, eta: float | None = None, message: str | None = None
    ) -> Any: ...

    def attach_process(self, proc: asyncio.subprocess.Process) -> None: ...

    def detach_process(self, proc: asyncio.subprocess.Process) -> None: ...

    @property
    def paused(self) -> bool: ...


class FfmpegFailed(JobError):
    """ffmpeg exited non-zero, stalled or could not start; `stderr_tail` holds its last lines."""

    def __init__(self, message: str, stderr_tail: Sequence[str] = (), *, retry: bool = True) -> None:
        super().__init__(message, retry=retry)
        self.stderr_tail = list(stderr_tail)


def find_binary(name: str) -> str:
    """Absolute path of ffmpeg/ffprobe on the current PATH, or a clear, non-retryable JobError."""
    found = shutil.which(name)
    if found is None:
        raise JobError(f"{name} not found on PATH (install ffmpeg or add it to PATH)", retry=False)
    return found


def tail_text(lines: Sequence[str], count: int = 8) -> str:
    picked = [line for line in lines if line.strip()][-count:]
    return " | ".join(picked) if picked else "(no output on stderr)"


@dataclass
class Progress:
    """One parsed `-progress` block."""

    out_time: float | None = None
    speed: float | None = None
    frame: int | None = None
    total_size: int | None = None
    ended: bool = False


@dataclass
class RunResult:
    returncode: int
    elapsed: float
    out_time: float | None
    stderr_tail: list[str] = field(default_factory=list)


def parse_progress_value(key: str, value: str, into: Progress) -> None:
    """Fold one `key=value` line of ffmpeg's -progress output into a block."""
    value = value.strip()
    if value in ("N/A", ""):
        return
    try:
        if key in ("out_time_us", "out_time_ms"):  # both are microseconds (out_time_ms is misnamed)
            micro = int(value)
            if micro >= 0:
                into.out_time = micro / 1_000_000
        elif key == "speed":
            into.speed = float(value.rstrip("x"))
        elif key == "frame":
            into.frame = int(value)
        elif key == "total_size":
            into.total_size = int(value)
        elif key == "progress":
            into.ended = value == "end"
    except ValueError:
        pass


StdoutHandler = Callable[[asyncio.StreamReader, "FfmpegProcess"], Awaitable[Any]]


class FfmpegProcess:
    """One supervised run. Use `await run_ffmpeg(...)`; this class holds the moving parts."""

    def __init__(
        self,
        ctx: RunnerContext,
        argv: Sequence[str],
        *,
        duration: float | None,
        stall_timeout: float = DEFAULT_STALL_TIMEOUT,
        stdout_handler: StdoutHandler | None = None,
        label: str = "ffmpeg",
        progress_range: tuple[float, float] = (0.0, 100.0),
    ) -> None:
        self.ctx = ctx
        self.label = label
        self.duration = duration if duration and duration > 0 else None
        self.stall_timeout = stall_timeout
        self.stdout_handler = stdout_handler
        self.progress_range = progress_range
        self.stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self.out_time: float | None = None
        self._last_change = time.monotonic()
        self._last_key: tuple[Any, ...] | None = None
        self._started = time.monotonic()
        self._pending_reports: set[asyncio.Future[Any]] = set()
        binary = find_binary(argv[0]) if os.sep not in argv[0] else argv[0]
        # Progress goes to stdout unless stdout carries data (waveform PCM, raw frames).
        extra = list(SUPERVISION_ARGS) + ([] if stdout_handler else ["-progress", "pipe:1"])
        self.argv = [binary, *extra, *argv[1:]]

    # -- progress --------------------------------------------------------------------------------
    def note_progress(self, out_time: float | None, speed: float | None = None, marker: Any = None) -> None:
        """Record progress (called by the -progress parser or by a stdout handler counting data)."""
        key = (out_time, marker)
        if key != self._last_key:
            self._last_key = key
            self._last_change = time.monotonic()
        if out_time is None:
            return
        self.out_time = out_time
        elapsed = max(1e-6, time.monotonic() - self._started - _paused_seconds(self.ctx))
        if speed is None or speed <= 0:
            speed = out_time / elapsed if out_time > 0 else None
        percent = eta = None
        if self.duration:
            low, high = self.progress_range
            fraction = min(1.0, out_time / self.duration)
            percent = low + (high - low) * fraction
            if speed:
                eta = max(0.0, (self.duration - out_time) / speed)
        message = f"{self.label}: {out_time:.1f} s" + (f" of {self.duration:.1f} s" if self.duration else "")
        result = self.ctx.progress(percent, speed=speed, eta=eta, message=message)
        if inspect.isawaitable(result):  # a stand-in context may report asynchronously
            self._pending_reports.add(task := asyncio.ensure_future(result))
            task.add_done_callback(self._pending_reports.discard)

    async def _read_progress(self, stream: asyncio.StreamReader) -> None:
        block = Progress()
        while True:
            line = await stream.readline()
            if not line:
                return
            key, sep, value = line.decode("utf-8", "replace").partition("=")
            if not sep:
                continue
            key = key.strip()
            parse_progress_value(key, value, block)
            if key == "progress":
                self.note_progress(block.out_time, block.speed, (block.frame, block.total_size))
                block = Progress(out_time=block.out_time)

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        while True:
            line = await stream.readline()
            if not line:
                return
            for part in line.decode("utf-8", "replace").replace("\r", "\n").splitlines():
                if part.strip():
                    self.stderr.append(part.rstrip())

    async def _watchdog(self, proc: asyncio.subprocess.Process) -> None:
        """Return (so the caller kills ffmpeg) once no progress was seen for stall_timeout seconds."""
        check = max(0.05, min(1.0, self.stall_timeout / 4))
        paused_at_change = _paused_seconds(self.ctx)
        last_change = self._last_change
        while proc.returncode is None:
            await asyncio.sleep(check)
            if self._last_change != last_change:
                last_change = self._last_change
                paused_at_change = _paused_seconds(self.ctx)
            if self.ctx.paused:
                continue
            idle = time.monotonic() - last_change - (_paused_seconds(self.ctx) - paused_at_change)
            if idle >= self.stall_timeout:
                return

    # -- life cycle ------------------------------------------------------------------------------
    async def run(self) -> RunResult:
        _LOGGER.debug("Job %s: running %s", self.ctx.job_id, self.argv)
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                limit=1 << 20,
            )
        except FileNotFoundError as err:
            raise FfmpegFailed(f"{os.path.basename(self.argv[0])} not found on PATH ({err})", retry=False) from err
        except OSError as err:
            raise FfmpegFailed(f"cannot start {self.argv[0]}: {err}", retry=False) from err
        self.ctx.attach_process(proc)
        self._started = time.monotonic()
        self._last_change = self._started
        assert proc.stdout is not None and proc.stderr is not None
        stdout_task = asyncio.ensure_future(
            self.stdout_handler(proc.stdout, self) if self.stdout_handler else self._read_progress(proc.stdout)
        )
        stderr_task = asyncio.ensure_future(self._read_stderr(proc.stderr))
        watchdog = asyncio.ensure_future(self._watchdog(proc))
        waiter = asyncio.ensure_future(proc.wait())
        stalled = False
        try:
            done, _ = await asyncio.wait({waiter, watchdog}, return_when=asyncio.FIRST_COMPLETED)
            if watchdog in done and proc.returncode is None:
                stalled = True
                _LOGGER.warning(
                    "Job %s: %s made no progress for %.0f s; killing it",
                    self.ctx.job_id,
                    self.label,
                    self.stall_timeout,
                )
                await terminate_process_group(proc)
            await waiter
            # Drain what is left on the pipes (bounded: the process is gone).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(stderr_task, return_exceptions=True), 5)
            stdout_error: BaseException | None = None
            try:
                await asyncio.wait_for(stdout_task, 30)
            except TimeoutError:
                stdout_task.cancel()
            except Exception as err:
                stdout_error = err
        except BaseException:
            # Cancelled (job canceled, hub stopping) or a bug: never leave ffmpeg running.
            await terminate_process_group(proc)
            raise
        finally:
            for task in (watchdog, waiter, stdout_task, stderr_task):
                if not task.done():
                    task.cancel()
            self.ctx.detach_process(proc)
        elapsed = time.monotonic() - self._started
        tail = list(self.stderr)
        returncode = proc.returncode if proc.returncode is not None else -1
        if stalled:
            _log_tail(self.ctx.job_id, self.label, "stalled", tail)
            raise FfmpegFailed(
                f"{self.label} stalled: no progress for {self.stall_timeout:.0f} s, killed. "
                f"Last output: {tail_text(tail)}",
                tail,
            )
        if returncode != 0:
            _log_tail(self.ctx.job_id, self.label, f"exited with code {returncode}", tail)
            how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with code {returncode}"
            raise FfmpegFailed(f"{self.label} {how}: {tail_text(tail)}", tail, retry=returncode < 0)
        if stdout_error is not None:
            if isinstance(stdout_error, JobError):
                raise stdout_error
            raise JobError(f"{self.label}: reading its output failed: {stdout_error}") from stdout_error
        return RunResult(returncode, elapsed, self.out_time, tail)


def _paused_seconds(ctx: Any) -> float:
    return float(getattr(ctx, "paused_seconds", 0.0) or 0.0)


def _log_tail(job_id: Any, label: str, what: str, tail: Sequence[str]) -> None:
    _LOGGER.error("Job %s: %s %s; last stderr lines:\n%s", job_id, label, what, "\n".join(tail) or "(none)")


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def terminate_process_group(proc: asyncio.subprocess.Process, grace: float = TERMINATE_GRACE) -> None:
    """SIGTERM the group (with SIGCONT so a paused one can act on it), wait, then SIGKILL."""
    if proc.returncode is not None:
        return
    _signal_group(proc.pid, signal.SIGTERM)
    _signal_group(proc.pid, signal.SIGCONT)
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), grace)
        return
    except TimeoutError:
        pass
    _signal_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(proc.wait()), 5)


async def run_ffmpeg(
    ctx: RunnerContext,
    argv: Sequence[str],
    *,
    duration: float | None,
    stall_timeout: float = DEFAULT_STALL_TIMEOUT,
    stdout_handler: StdoutHandler | None = None,
    label: str = "ffmpeg",
    progress_range: tuple[float, float] = (0.0, 100.0),
) -> RunResult:
    """Run one ffmpeg command line (argv[0] is the program name) under supervision.

    Raises FfmpegFailed (a JobError) on a non-zero exit, a stall or a missing binary; on
    cancellation the process group is killed before CancelledError propagates.
    """
    process = FfmpegProcess(
        ctx,
        argv,
        duration=duration,
        stall_timeout=stall_timeout,
        stdout_handler=stdout_handler,
        label=label,
        progress_range=progress_range,
    )
    return await process.run()
