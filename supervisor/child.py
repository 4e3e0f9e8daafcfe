"""One supervised child process: its pid, its death seen at once through a pidfd, and its kill."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

from supervisor.spec import ChildSpec, ExitReason, exit_reason


class Child:
    """The supervisor's record of one child (the spec stays; the process changes on restart)."""

    def __init__(self, name: str, spec: ChildSpec) -> None:
        """A child that has not been started."""
        self.name = name
        self.spec = spec
        self.pid: int | None = None
        self.restarts = 0
        self.quick_restarts = 0
        self.started_at = 0.0
        self.ready_at: float | None = None
        self.stop_requested = False
        self.restored: dict[str, int | float | str | bool] = {}
        self.last_beat_at: float | None = None
        self.iterations: int | None = None
        self.trading_state_seq: int | None = None
        self.last_exit: tuple[ExitReason, int] | None = None
        self.ready: asyncio.Future[None] | None = None
        self.drained: asyncio.Future[None] | None = None
        self.exited: asyncio.Future[tuple[ExitReason, int]] | None = None
        self._pidfd: int | None = None

    @property
    def alive(self) -> bool:
        """True while the process exists and has not been reaped."""
        return self.pid is not None and self.exited is not None and not self.exited.done()

    def attach(self, pid: int, loop: asyncio.AbstractEventLoop) -> None:
        """Watch a freshly started process: its pidfd becomes readable the moment it dies."""
        self.pid = pid
        self.started_at = time.monotonic()
        self.ready_at = None
        self.stop_requested = False
        self.last_beat_at = None
        self.ready = loop.create_future()
        self.drained = loop.create_future()
        self.exited = loop.create_future()
        try:
            self._pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._reap(loop)  # died (and was reaped by no one) before we could watch it
            return
        loop.add_reader(self._pidfd, self._reap, loop)

    def _reap(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._pidfd is not None:
            loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        status = 0
        if self.pid is not None:
            with contextlib.suppress(ChildProcessError):
                _, status = os.waitpid(self.pid, 0)
        result = exit_reason(status, stop_requested=self.stop_requested)
        self.last_exit = result
        for fut in (self.ready, self.drained):
            if fut is not None and not fut.done():
                fut.cancel()
        if self.exited is not None and not self.exited.done():
            self.exited.set_result(result)

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send ``sig`` to the process if it is still ours (never to a reused pid)."""
        if self.alive and self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                # pidfd_send_signal would be race-free; the pid cannot be reused before we reap
                # it, and we reap only in _reap, so os.kill on an unreaped child is safe.
                os.kill(self.pid, sig)
