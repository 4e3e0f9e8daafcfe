"""Drive plain ZeroMQ sockets from an asyncio loop without threads (edge-triggered FD rules)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import zmq


class Watch:
    """Calls ``pump`` whenever ``sock`` has input, until ZeroMQ says no more is readable.

    ZeroMQ's FD is edge-triggered and any operation on the socket may consume the edge, so the
    callback re-checks ``EVENTS`` and ``poke()`` must be called after sending on the socket.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, sock: zmq.Socket[bytes], pump: Callable[[], None]
    ) -> None:
        """Start watching."""
        self.loop = loop
        self.sock = sock
        self.pump = pump
        self._scheduled = False
        self.fd = int(sock.getsockopt(zmq.FD))
        loop.add_reader(self.fd, self._on_ready)
        self.poke()

    def _on_ready(self) -> None:
        self._scheduled = False
        if int(self.sock.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
            self.pump()
            # One bounded pump per turn, then the other sockets' callbacks run: a flooded bus
            # must not starve the control channel (a child's Ready, a kill-switch ack). The
            # re-check also catches an edge the pump consumed.
            self.poke()

    def poke(self) -> None:
        """Re-check the socket soon (after a send, or when work may be left)."""
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self._on_ready)

    def close(self) -> None:
        """Stop watching."""
        self.loop.remove_reader(self.fd)
