"""Waiting for plain ZeroMQ sockets from an asyncio loop: readers registered once, no poller.

``zmq.asyncio``'s poller registers a reader and a future per socket on every wait and removes
them after it: a few system calls and objects per socket per message, which was a fifth of an
actor's CPU on the path of an order (py-spy, 50 orders a second). Here every socket's
descriptor is registered once, for the life of the process; a wait asks ZeroMQ which sockets
have input (``EVENTS``) and sleeps only when none has.

ZeroMQ's descriptor is edge-triggered: it signals that the socket's state *may* have changed,
and any operation on the socket (a send, a read of ``EVENTS``) may consume that signal. So the
answer is always ``EVENTS``, read after every wake-up and before every sleep; a message that
arrives after that read signals the descriptor again and wakes the sleeper. The descriptors
stay registered while nobody waits (the loop is in a hook): each signal is answered by reading
``EVENTS`` at once, which clears it, so the loop does not spin on a readable descriptor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

import zmq

Sock = zmq.Socket[bytes]


def has_input(sock: Sock) -> bool:
    """Whether a message can be read from ``sock`` now."""
    return bool(int(sock.getsockopt(zmq.EVENTS)) & zmq.POLLIN)


class Readiness:
    """Sleeps until one of a fixed set of sockets has input, or a timeout passes."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sockets: Iterable[Sock]) -> None:
        """Register every socket's descriptor with ``loop`` (until ``close``)."""
        self._loop = loop
        self._waiter: asyncio.Future[None] | None = None
        self._fds = []
        for sock in sockets:
            fd = int(sock.getsockopt(zmq.FD))
            loop.add_reader(fd, self._signalled, sock)
            self._fds.append(fd)

    def _signalled(self, sock: Sock) -> None:
        # Reading EVENTS consumes the descriptor's signal. Without that, a socket whose input
        # nobody waits for yet (the loop is awaiting the actor thread) would keep the
        # descriptor readable and the loop's epoll returning at once: a spin. The input itself
        # stays, and the next ``wait`` finds it by the same read.
        if has_input(sock):
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, sockets: Sequence[Sock], timeout_ms: int) -> list[Sock]:
        """The sockets of ``sockets`` (all registered) that have input, in that order; sleeps
        until one has, at most ``timeout_ms`` (0: look only; negative: no limit)."""
        ready = [s for s in sockets if has_input(s)]
        if ready or timeout_ms == 0:
            return ready
        if self._waiter is not None:
            raise RuntimeError("Readiness.wait is already awaited: one waiter at a time")
        waiter = self._waiter = self._loop.create_future()
        timer = (self._loop.call_later(timeout_ms / 1000, self._wake)
                 if timeout_ms > 0 else None)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()
        return [s for s in sockets if has_input(s)]

    def close(self) -> None:
        """Unregister the descriptors (before the sockets close)."""
        for fd in self._fds:
            self._loop.remove_reader(fd)
        self._fds = []
