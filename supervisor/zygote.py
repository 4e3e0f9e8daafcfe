"""The zygote: a preloaded fork server whose children end up as the supervisor's own children.

Why: the supervisor holds a ZeroMQ context, sockets and an event loop, and a fork must never copy
those (FLOORS.md). Exec-ing a fresh interpreter costs ~100 ms. So, before the supervisor opens
anything, it forks this zygote (through ``multiprocess``), which imports the heavy modules once.
The zygote forks an intermediate process that forks a *spare* and exits at once; the orphaned
spare is re-parented to the nearest child subreaper, which is the supervisor, binds its
parent-death signal to it, and waits on a pipe. A spawn hands the request to the waiting spare
(it becomes the actor) and only then forks the next spare, so no fork is on the restart path.
The supervisor is therefore the direct parent of every actor (it reaps it and sees its death at
once) while no ZeroMQ context ever crosses a fork.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import importlib
import os
import signal
from typing import Any

import msgspec

from actors._runtime.spawn import ExitCode, SpawnRequest, name_process
from supervisor.errors import ChildStartError

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36

# Imported once in the zygote, so that a child starts without paying for them (FLOORS.md).
PRELOAD = (
    "zmq",
    "zmq.asyncio",
    "pykka",
    "aiosqlite",
    "msgspec",
    "structlog",
    "psutil",
    "actors._runtime.process",
    "actors.wire",
)


def become_subreaper() -> None:
    """Make this process adopt orphaned descendants (the actors the zygote double-forks)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _zygote_main(conn: Any, preload: tuple[str, ...], parent_pid: int, parent_end: int) -> None:
    """Body of the zygote process: preload, keep a warm spare, hand it each request.

    ``parent_end``: the supervisor's end of the pipe, inherited by the fork. Closed here, so
    that the supervisor closing it is an end-of-file for the zygote (a clean, immediate exit).
    """
    with contextlib.suppress(OSError):
        os.close(parent_end)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(ExitCode.ORPHANED)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    name_process("zygote")
    for name in preload:
        importlib.import_module(name)
    from actors import wire

    wire.codec()  # build the message union once; every child inherits it
    gc.freeze()  # keep preloaded objects out of the collector: fewer copy-on-write faults
    spare = _fork_spare(conn, parent_pid)
    conn.send_bytes(b"ready")
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            os._exit(0)
        pid = _hand_over(spare, data)
        if pid <= 0:  # the spare died (or the fork failed): start a fresh one, try once more
            spare = _fork_spare(conn, parent_pid)
            pid = _hand_over(spare, data)
        conn.send_bytes(pid.to_bytes(8, "little", signed=True))
        spare = _fork_spare(conn, parent_pid)  # off the critical path: after the reply


def _hand_over(spare: tuple[int, int], data: bytes) -> int:
    """Give ``data`` (a SpawnRequest) to the waiting spare; its pid, or <= 0 if it is gone."""
    pid, wfd = spare
    if pid <= 0:
        return pid
    try:
        os.write(wfd, len(data).to_bytes(4, "little") + data)
    except OSError:
        return -1
    finally:
        os.close(wfd)
    return pid


def _fork_spare(conn: Any, parent_pid: int) -> tuple[int, int]:
    """Double-fork a spare actor process; return (its pid once re-parented, request pipe)."""
    req_r, req_w = os.pipe()
    r, w = os.pipe()
    try:
        mid = os.fork()
    except OSError as exc:
        for fd in (req_r, req_w, r, w):
            os.close(fd)
        return -(exc.errno or 1), -1
    if mid == 0:  # intermediate
        os.close(r)
        os.close(req_w)
        try:
            pid = os.fork()
        except OSError as exc:
            os.write(w, (-(exc.errno or 1)).to_bytes(8, "little", signed=True))
            os._exit(1)
        if pid == 0:  # the spare
            os.close(w)
            code: int = ExitCode.CRASHED
            try:
                conn.close()
                code = _spare_main(req_r, parent_pid)
            finally:
                os._exit(code)
        os.write(w, pid.to_bytes(8, "little", signed=True))
        os._exit(0)
    os.close(w)
    os.close(req_r)
    with os.fdopen(r, "rb") as f:
        raw = f.read(8)
    os.waitpid(mid, 0)  # once it is reaped, the spare belongs to the supervisor
    pid = int.from_bytes(raw, "little", signed=True) if len(raw) == 8 else -1
    if pid <= 0:
        os.close(req_w)
        return pid, -1
    return pid, req_w


def _spare_main(req_r: int, parent_pid: int) -> int:
    """A spare: bind to the supervisor now, then wait for the request that makes it an actor."""
    from actors._runtime.spawn import bind_to_parent

    bind_to_parent(parent_pid)
    name_process("spare")
    with os.fdopen(req_r, "rb") as f:
        head = f.read(4)
        if len(head) < 4:
            return ExitCode.NORMAL  # the zygote is gone: nothing to become
        data = f.read(int.from_bytes(head, "little"))
    req = msgspec.msgpack.decode(data, type=SpawnRequest)
    from actors import wire
    from actors._runtime import process

    return process.main(req, wire.codec(), bound=True)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Zygote:
    """The supervisor's handle on the zygote process."""

    def __init__(self, preload: tuple[str, ...] = PRELOAD) -> None:
        """Fork the zygote now; call before creating any ZeroMQ context or thread."""
        import multiprocess

        ctx = multiprocess.get_context("fork")
        self._conn, child_conn = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=_zygote_main,
            args=(child_conn, preload, os.getpid(), self._conn.fileno()),
            name="quantfund-zygote",
            daemon=True,
        )
        self.process.start()
        child_conn.close()
        self._lock = asyncio.Lock()
        self._ready = False

    @property
    def pid(self) -> int:
        """Pid of the zygote."""
        return int(self.process.pid)

    async def _recv(self) -> bytes:
        loop = asyncio.get_running_loop()
        fd = self._conn.fileno()
        while not self._conn.poll():
            waiter: asyncio.Future[None] = loop.create_future()
            loop.add_reader(fd, _wake, waiter)
            try:
                await waiter
            finally:
                loop.remove_reader(fd)
        return bytes(self._conn.recv_bytes())

    async def spawn(self, req: SpawnRequest) -> int:
        """Start an actor process; returns its pid (already a child of this process)."""
        async with self._lock:
            try:
                if not self._ready:
                    if await self._recv() != b"ready":
                        raise ChildStartError("zygote sent an unexpected greeting")
                    self._ready = True
                self._conn.send_bytes(msgspec.msgpack.encode(req))
                pid = int.from_bytes(await self._recv(), "little", signed=True)
            except (EOFError, OSError) as exc:
                raise ChildStartError(f"zygote is gone: {exc!r}") from exc
        if pid <= 0:
            raise ChildStartError(f"zygote could not fork {req.name}: errno {-pid}")
        return pid

    def close(self) -> None:
        """Stop the zygote (closing its pipe makes it exit) and reap it."""
        with contextlib.suppress(OSError):
            self._conn.close()
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=2)
