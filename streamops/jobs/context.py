"""JobContext: what a runner gets — its params, a progress callback, and pause/cancel cooperation.

Pausing is real: processes a runner attaches are SIGSTOPped (and SIGCONTed on resume) by the
queue, and pure-Python runners block in `wait_unpaused()` between chunks. On cancel the queue
terminates every process still attached, so a runner that forgets to kill its ffmpeg cannot leak it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .queue import JobQueue

_LOGGER = logging.getLogger(__name__)


def _signal_process(pid: int, sig: int) -> None:
    """Signal a process, or its whole group when it leads one (started with start_new_session)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class JobContext:
    """Handed to `JobType.run`. One per attempt."""

    def __init__(self, queue: JobQueue, job_id: int, job_type: str, params: dict[str, Any], attempt: int) -> None:
        self._queue = queue
        self.job_id = job_id
        self.job_type = job_type
        self.params = params
        self.attempt = attempt
        self.processes: list[asyncio.subprocess.Process] = []
        self._unpaused = asyncio.Event()
        self._unpaused.set()
        self._paused_since: float | None = None
        self._paused_total = 0.0
        # Latest progress, read by the queue's throttled publisher.
        self.percent: float | None = None
        self.speed: float | None = None
        self.eta: float | None = None
        self.message: str | None = None
        # Who executes this attempt when it is not this process (see set_worker).
        self.worker: str | None = None

    # -- progress --------------------------------------------------------------------------------
    def progress(
        self,
        percent: float | None,
        *,
        speed: float | None = None,
        eta: float | None = None,
        message: str | None = None,
    ) -> None:
        """Report progress; cheap to call often (events are rate-limited to a few per second)."""
        if percent is not None:
            percent = max(0.0, min(100.0, float(percent)))
        self.percent = percent
        self.speed = None if speed is None else float(speed)
        self.eta = None if eta is None else max(0.0, float(eta))
        if message is not None:
            self.message = message
        self._queue._on_progress(self)

    # -- executor --------------------------------------------------------------------------------
    def set_worker(self, label: str | None) -> None:
        """Say that this attempt is executed elsewhere, by `label` (e.g. a remote worker's name).

        A runner that hands its job to another process or machine (remote workers over NATS) calls
        this once it knows who took it: the journal's `worker` column becomes `label@host:pid` (the
        hub process still owns the attempt: its recovery, cancel and the CLI work as for local
        jobs) and the running-jobs sensor shows the label. `None` goes back to "run here".
        """
        if label == self.worker:
            return
        self.worker = label
        self._queue._on_worker_changed(self)

    # -- processes -------------------------------------------------------------------------------
    def attach_process(self, proc: asyncio.subprocess.Process) -> None:
        """Let the queue SIGSTOP/SIGCONT this process while paused and terminate it on cancel."""
        if proc in self.processes:
            return
        self.processes.append(proc)
        if self.paused and proc.returncode is None:
            _signal_process(proc.pid, signal.SIGSTOP)
        self._queue._on_processes_changed(self)

    def detach_process(self, proc: asyncio.subprocess.Process) -> None:
        if proc in self.processes:
            self.processes.remove(proc)
            self._queue._on_processes_changed(self)

    async def create_subprocess_exec(self, program: str, *args: str, **kwargs: Any) -> asyncio.subprocess.Process:
        """Start a process in its own session with stdin closed, already attached (a convenience).

        Its own session means pause/cancel signal the whole group, and Ctrl-C in the hub's terminal
        does not reach it.
        """
        kwargs.setdefault("stdin", asyncio.subprocess.DEVNULL)
        kwargs.setdefault("start_new_session", True)
        proc = await asyncio.create_subprocess_exec(program, *args, **kwargs)
        self.attach_process(proc)
        return proc

    # -- pause -----------------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return not self._unpaused.is_set()

    @property
    def paused_seconds(self) -> float:
        """Total time spent paused in this attempt (stall watchdogs subtract it)."""
        extra = time.monotonic() - self._paused_since if self._paused_since is not None else 0.0
        return self._paused_total + extra

    async def wait_unpaused(self) -> None:
        """Return at once when running; block while paused (pure-Python runners call it between chunks)."""
        if not self._unpaused.is_set():
            await self._unpaused.wait()

    def _set_paused(self, paused: bool) -> None:
        """Called by the queue only."""
        if paused == self.paused:
            return
        if paused:
            self._unpaused.clear()
            self._paused_since = time.monotonic()
            for proc in self.processes:
                if proc.returncode is None:
                    _signal_process(proc.pid, signal.SIGSTOP)
        else:
            for proc in self.processes:
                if proc.returncode is None:
                    _signal_process(proc.pid, signal.SIGCONT)
            if self._paused_since is not None:
                self._paused_total += time.monotonic() - self._paused_since
                self._paused_since = None
            self._unpaused.set()

    async def _terminate_processes(self, timeout: float) -> None:
        """SIGTERM (with SIGCONT, so a stopped process can act on it), then SIGKILL after `timeout`."""
        alive = [proc for proc in self.processes if proc.returncode is None]
        for proc in alive:
            _signal_process(proc.pid, signal.SIGTERM)
            _signal_process(proc.pid, signal.SIGCONT)
        for proc in alive:
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                _LOGGER.warning("Job %s: process %s ignored SIGTERM; killing it", self.job_id, proc.pid)
                _signal_process(proc.pid, signal.SIGKILL)
                try:
                    await asyncio.wait_for(proc.wait(), 5)
                except TimeoutError:
                    _LOGGER.error("Job %s: process %s did not die after SIGKILL", self.job_id, proc.pid)
